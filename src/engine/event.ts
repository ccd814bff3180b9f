/**
 * The event model shared by every source.
 *
 * The engine itself never looks inside an event: it only hands it to the field
 * extractors that the event's source registered (see `fields.ts`). Each source
 * extends this interface with its own payload (`AuditEvent` in `src/audit`,
 * the syscall record and state references in `src/syscall`).
 */
export interface EngineEvent {
  /** Name of the source that produced the event, e.g. `k8s_audit` or `syscall`. */
  readonly source: string;
  /** Event time in nanoseconds since the Unix epoch. */
  readonly time: bigint;
}
