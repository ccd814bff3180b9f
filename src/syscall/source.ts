/**
 * The `syscall` event source: every field Falco's syscall rules use (evt,
 * proc, thread, fd, user, group, container, k8s, fs), with rules indexed by
 * `evt.type` so each event is checked only against rules for its type.
 */
import type { SourceDefinition } from '../engine/fields.js';
import { syscallCorrelation } from './correlation.js';
import { EVENT_TYPE_NAMES } from './event-types.js';
import type { SyscallEvent } from './event.js';
import { CONTAINER_FIELDS } from './fields/container.js';
import { EVT_FIELDS, resolveArgField } from './fields/evt.js';
import { FD_FIELDS } from './fields/fd.js';
import { FS_FIELDS } from './fields/fs.js';
import { PROC_FIELDS } from './fields/proc.js';
import { USER_FIELDS } from './fields/user.js';

/** Version of Falco's container plugin whose fields this source provides natively. */
export const CONTAINER_PLUGIN_VERSION = '0.4.0';

export const syscallSource: SourceDefinition<SyscallEvent> = {
  name: 'syscall',
  desc: 'System calls of every process on the node (eBPF sensor or capture files)',
  fields: [...EVT_FIELDS, ...PROC_FIELDS, ...FD_FIELDS, ...USER_FIELDS, ...CONTAINER_FIELDS, ...FS_FIELDS],
  provides: [{ name: 'container', version: CONTAINER_PLUGIN_VERSION }],
  resolveDynamic: resolveArgField,
  correlate: syscallCorrelation,
  index: {
    field: 'evt.type',
    universe: EVENT_TYPE_NAMES,
    read: (evt) => evt.typeName,
  },
};
