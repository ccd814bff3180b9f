/**
 * Path arithmetic for syscall arguments: joining a relative path to the
 * directory it is relative to (cwd or a dirfd) and normalizing `.` and `..`,
 * as libsinsp does for `fd.name` and path arguments.
 */

/** Resolves `path` against `base` and normalizes it. Absolute paths ignore `base`. */
export function resolvePath(base: string, path: string): string {
  if (path === '') return base;
  const full = path.startsWith('/') || base === '' ? path : `${base.endsWith('/') ? base : base + '/'}${path}`;
  return normalizePath(full);
}

/** Collapses `//`, `.` and `..` (never above the root). Relative input stays relative. */
export function normalizePath(path: string): string {
  // Most paths are already normal: skip the split when there is nothing to fix.
  if (path.length > 1 && !path.endsWith('/') && !/\/\/|\/\.\.?(\/|$)|^\.\.?(\/|$)/.test(path)) return path;
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  return absolute ? '/' + joined : joined || '.';
}

/** The directory part (`/etc` for `/etc/passwd`, `/` for `/etc`). */
export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  if (i < 0) return '';
  if (i === 0) return '/';
  return path.slice(0, i);
}

/** The last component (`passwd` for `/etc/passwd`). */
export function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/** AT_FDCWD: the dirfd value meaning "relative to the working directory". */
export const AT_FDCWD = -100;
