/**
 * `fs.path.*`: the paths a filesystem-changing event concerns (mkdir,
 * unlink, rename, link, symlink, chmod, chown...), resolved to absolute
 * paths; `source`/`target` for the two-path calls.
 */
import type { SyscallEvent } from '../event.js';
import { type SysField, f } from './define.js';
import { resolvedPathParam } from './render.js';

/** Which parameters hold the path, or the source and target, per event type. */
const PATHS: Record<string, { name?: string; source?: string; target?: string }> = {
  mkdir: { name: 'path' }, mkdirat: { name: 'path' }, rmdir: { name: 'path' },
  unlink: { name: 'path' }, unlinkat: { name: 'name' },
  chmod: { name: 'filename' }, fchmodat: { name: 'filename' },
  chown: { name: 'path' }, lchown: { name: 'path' }, fchownat: { name: 'pathname' },
  rename: { source: 'oldpath', target: 'newpath' }, renameat: { source: 'oldpath', target: 'newpath' },
  renameat2: { source: 'oldpath', target: 'newpath' },
  link: { source: 'oldpath', target: 'newpath' }, linkat: { source: 'oldpath', target: 'newpath' },
  symlink: { source: 'target', target: 'linkpath' }, symlinkat: { source: 'target', target: 'linkpath' },
};

function pathOf(role: 'name' | 'source' | 'target', raw: boolean) {
  return (e: SyscallEvent): string | undefined => {
    const spec = PATHS[e.typeName];
    const param = spec?.[role] ?? (role === 'name' ? spec?.target : undefined);
    if (!param) return undefined;
    const i = e.record.schema.findIndex((s) => s.name === param);
    if (i < 0) return undefined;
    if (raw) {
      const v = e.record.param(i);
      return typeof v === 'string' ? v : undefined;
    }
    // A symlink's target is text, not a path to resolve.
    if (param === 'target') return e.record.str(i);
    return resolvedPathParam(e, i);
  };
}

export const FS_FIELDS: readonly SysField[] = [
  f('fs.path.name', 'path', 'Path a filesystem change concerns (the new path for rename/link)', pathOf('name', false)),
  f('fs.path.nameraw', 'string', 'That path as passed (not resolved)', pathOf('name', true)),
  f('fs.path.source', 'path', 'Source path of rename, link and symlink', pathOf('source', false)),
  f('fs.path.sourceraw', 'string', 'Source path as passed', pathOf('source', true)),
  f('fs.path.target', 'path', 'Target path of rename, link and symlink', pathOf('target', false)),
  f('fs.path.targetraw', 'string', 'Target path as passed', pathOf('target', true)),
];
