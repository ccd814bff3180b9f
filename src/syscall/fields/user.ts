/**
 * `user.*` and `group.*`: the effective user and group of the process, with
 * names from the host's /etc/passwd and /etc/group, or from the container's
 * own files for processes in containers.
 */
import type { SyscallEvent } from '../event.js';
import type { GroupEntry, UserEntry } from '../state/snapshot.js';
import { type SysField, f } from './define.js';

const UNSET = 0xffffffff;

function containerOf(e: SyscallEvent): { id: string; rootPid?: number } | undefined {
  const c = e.proc.container;
  return c.id === 'host' ? undefined : { id: c.id, rootPid: e.proc.pid };
}

function user(e: SyscallEvent, uid: number): UserEntry | undefined {
  return e.memo(`user:${uid}`, () => e.state.users.user(uid, containerOf(e)));
}

function group(e: SyscallEvent, gid: number): GroupEntry | undefined {
  return e.memo(`group:${gid}`, () => e.state.users.group(gid, containerOf(e)));
}

export const USER_FIELDS: readonly SysField[] = [
  f('user.uid', 'uint', 'Effective user id', (e) => (e.proc.euid === UNSET ? undefined : e.proc.euid)),
  f('user.name', 'string', 'Effective user name', (e) => (e.proc.euid === UNSET ? undefined : user(e, e.proc.euid)?.name)),
  f('user.homedir', 'path', 'Home directory of the user', (e) => (e.proc.euid === UNSET ? undefined : user(e, e.proc.euid)?.homedir)),
  f('user.shell', 'string', 'Login shell of the user', (e) => (e.proc.euid === UNSET ? undefined : user(e, e.proc.euid)?.shell)),
  f('user.ruid', 'uint', 'Real user id', (e) => (e.proc.uid === UNSET ? undefined : e.proc.uid)),
  f('user.loginuid', 'int', 'Audit login user id (-1 when unset)', (e) => (e.proc.loginuid === UNSET ? -1 : e.proc.loginuid)),
  f('user.loginname', 'string', 'Name of the audit login user', (e) => (e.proc.loginuid === UNSET ? undefined : user(e, e.proc.loginuid)?.name)),
  f('group.gid', 'uint', 'Effective group id', (e) => (e.proc.egid === UNSET ? undefined : e.proc.egid)),
  f('group.name', 'string', 'Effective group name', (e) => (e.proc.egid === UNSET ? undefined : group(e, e.proc.egid)?.name)),
];
