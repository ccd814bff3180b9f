/**
 * In-process helpers for syscall tests: run a synthesized scenario through
 * the state machine (as a capture replay would) and read fields of events.
 */
import { bindField } from '../../src/engine/condition/compile.js';
import type { FieldValue } from '../../src/engine/fields.js';
import type { SyscallEvent } from '../../src/syscall/event.js';
import { splitRecords } from '../../src/syscall/record.js';
import { SyscallState } from '../../src/syscall/state/index.js';
import { StaticMetadataProvider } from '../../src/syscall/state/metadata.js';
import { UserDatabase } from '../../src/syscall/state/users.js';
import type { Scenario } from '../../src/syscall/synth.js';
import { createRegistry } from '../../src/sources.js';

const registry = createRegistry();
const extractors = new Map<string, (e: SyscallEvent) => FieldValue>();

/** Reads one field (e.g. `proc.aname[2]`, `evt.arg.flags`) of an event. */
export function field(e: SyscallEvent, ref: string): FieldValue {
  let ex = extractors.get(ref);
  if (!ex) {
    const m = /^([a-zA-Z0-9_.]+)(?:\[(.*)\])?$/.exec(ref)!;
    ex = bindField(registry, 'syscall', m[1]!, m[2]).extract as (e: SyscallEvent) => FieldValue;
    extractors.set(ref, ex);
  }
  return ex(e);
}

/** The state for a scenario, seeded from its snapshot. */
export function stateFor(s: Scenario): SyscallState {
  const header = s.header();
  const state = new SyscallState({
    users: new UserDatabase({ users: [...header.host.users], groups: [...header.host.groups], containers: header.host.containerUsers ?? {} }),
    metadata: StaticMetadataProvider.fromObject({ containers: header.containers ?? [] }),
  });
  state.seed(header.host);
  return state;
}

/** Applies every record of the scenario; calls `each` with each event right after its update. */
export function run(s: Scenario, each: (e: SyscallEvent, i: number) => void, state = stateFor(s)): SyscallState {
  const { records } = splitRecords(s.recordBytes());
  records.forEach((r, i) => each(state.apply(r), i));
  state.flush();
  return state;
}

/** Every event of a scenario with the listed fields read at the time of the event. */
export function table(s: Scenario, refs: readonly string[]): Record<string, FieldValue>[] {
  const rows: Record<string, FieldValue>[] = [];
  run(s, (e) => {
    const row: Record<string, FieldValue> = { type: e.typeName };
    for (const r of refs) row[r] = field(e, r);
    rows.push(row);
  });
  return rows;
}
