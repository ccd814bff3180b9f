/**
 * What a capture learns while it runs besides the records: the host's and
 * containers' users and groups, read by the live state only when a rule
 * first asks for a name in that container. The capture header cannot hold
 * them (it is written first), so they travel in the record stream as
 * `capturemeta` records (a pseudo event the kernel never emits), each placed
 * before the batch whose evaluation read them; a replay applies them to its
 * state and never shows them to the rules, so live and replayed runs see the
 * same events.
 *
 * A record's parameter is at most 64 KiB, so a large passwd file becomes
 * several parts; the replay applies the accounts when the last part arrives.
 */
import { PSEUDO_EVENTS } from './event-types.js';
import { type SyscallRecord, encodeRecord } from './record.js';
import type { GroupEntry, UserEntry } from './state/snapshot.js';
import type { UserDatabase } from './state/users.js';

export const CAPTURE_META = PSEUDO_EVENTS.capturemeta;

/** JSON bytes per record, leaving room for the header and the length table. */
const MAX_PART_BYTES = 60_000;

/** One part of a container's (or, with `container: null`, the host's) accounts. */
interface AccountsPart {
  readonly kind: 'accounts';
  readonly container: string | null;
  readonly users: readonly UserEntry[];
  readonly groups: readonly GroupEntry[];
  /** True on the last part: the accounts are complete. */
  readonly last: boolean;
}

/** Encodes accounts as capturemeta records (one or more parts). */
export function encodeAccounts(ts: bigint, container: string | undefined, users: readonly UserEntry[], groups: readonly GroupEntry[]): Buffer[] {
  const entries: ({ u: UserEntry } | { g: GroupEntry })[] = [...users.map((u) => ({ u })), ...groups.map((g) => ({ g }))];
  const out: Buffer[] = [];
  let partUsers: UserEntry[] = [];
  let partGroups: GroupEntry[] = [];
  let size = 0;
  const emit = (last: boolean): void => {
    const part: AccountsPart = { kind: 'accounts', container: container ?? null, users: partUsers, groups: partGroups, last };
    out.push(encodeRecord({ ts, tid: 0, tgid: 0, type: 'capturemeta', params: { json: JSON.stringify(part) } }));
    partUsers = [];
    partGroups = [];
    size = 0;
  };
  for (const e of entries) {
    const n = Buffer.byteLength(JSON.stringify(e)) + 1;
    if (n > MAX_PART_BYTES) continue; // a single absurd entry (attacker-written passwd line) is not worth a record
    if (size + n > MAX_PART_BYTES) emit(false);
    if ('u' in e) partUsers.push(e.u);
    else partGroups.push(e.g);
    size += n;
  }
  emit(true);
  return out;
}

function isEntryList(v: unknown, key: 'uid' | 'gid'): boolean {
  return Array.isArray(v) && v.every((e) => typeof e === 'object' && e !== null && typeof (e as Record<string, unknown>).name === 'string' && typeof (e as Record<string, unknown>)[key] === 'number');
}

/** Applies capturemeta records to a replay's state. */
export class CaptureMetaApplier {
  private readonly pending = new Map<string, { users: UserEntry[]; groups: GroupEntry[] }>();
  /** Records that could not be understood (ignored). */
  malformed = 0;

  constructor(private readonly users: UserDatabase) {}

  apply(rec: SyscallRecord): void {
    let part: AccountsPart;
    try {
      part = JSON.parse(rec.str(0) ?? '') as AccountsPart;
    } catch {
      this.malformed++;
      return;
    }
    if (part?.kind !== 'accounts' || !isEntryList(part.users, 'uid') || !isEntryList(part.groups, 'gid') ||
      !(part.container === null || typeof part.container === 'string')) {
      this.malformed++;
      return;
    }
    const key = part.container ?? '';
    const acc = this.pending.get(key) ?? { users: [], groups: [] };
    acc.users.push(...part.users);
    acc.groups.push(...part.groups);
    if (!part.last) {
      this.pending.set(key, acc);
      return;
    }
    this.pending.delete(key);
    this.users.replaceAccounts(part.container ?? undefined, acc.users, acc.groups);
  }
}
