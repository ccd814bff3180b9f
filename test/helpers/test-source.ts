/**
 * A small synthetic event source for engine tests: each field reads one key
 * of the event's `data`, so tests can state values directly.
 */
import type { EngineEvent } from '../../src/engine/event.js';
import { FieldRegistry, type FieldDef, type FieldType, type Scalar } from '../../src/engine/fields.js';

export interface TestEvent extends EngineEvent {
  readonly data: Record<string, Scalar | readonly Scalar[] | undefined>;
}

function field(name: string, type: FieldType, isList = false, arg: FieldDef['arg'] = 'none'): FieldDef<TestEvent> {
  return {
    name,
    type,
    isList,
    arg,
    desc: `test field ${name}`,
    bind: (a) => (evt) => {
      const v = evt.data[a === undefined ? name : `${name}[${a}]`];
      return v;
    },
  };
}

export const TEST_FIELDS: FieldDef<TestEvent>[] = [
  field('t.str', 'string'),
  field('t.other', 'string'),
  field('t.path', 'path'),
  field('t.num', 'int'),
  field('t.unum', 'uint'),
  field('t.bool', 'bool'),
  field('t.ip', 'ipaddr'),
  field('t.net', 'ipnet'),
  field('t.bytes', 'bytes'),
  field('t.time', 'abstime'),
  field('t.list', 'string', true),
  field('t.list2', 'string', true),
  field('t.idx', 'string', true, 'index'),
  field('t.key', 'string', false, 'key'),
  field('t.absent', 'string'),
];

/** The test source; with `indexed`, rules are indexed by the values of `t.str` they can match. */
export function testRegistry(indexed = false): FieldRegistry {
  return new FieldRegistry().register({
    name: 'test',
    desc: 'synthetic test source',
    fields: TEST_FIELDS,
    ...(indexed ? {
      index: {
        field: 't.str',
        read: (evt: TestEvent) => {
          const v = evt.data['t.str'];
          return typeof v === 'string' ? v : undefined;
        },
      },
    } : {}),
  });
}

let counter = 0n;
export function ev(data: TestEvent['data']): TestEvent {
  counter += 1_000_000_000n;
  return { source: 'test', time: 1_700_000_000_000_000_000n + counter, data };
}
