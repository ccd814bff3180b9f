/**
 * Shared helpers for the audit tests: the upstream suite's traces (read in
 * place from `../shared/anchors`, never copied), hand-made events, and field
 * extraction by name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FieldValue } from '../../src/engine/fields.js';
import { AuditEvent, decodeAuditPayload } from '../../src/audit/event.js';
import { k8sAuditSource } from '../../src/audit/source.js';
import type { JsonObject } from '../../src/audit/types.js';

/** `shared/` sits beside the repository, both here and in CI. */
export const SHARED_DIR = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const TRACE_DIR = `${SHARED_DIR}anchors/falco-k8s-audit-suite/trace_files/k8s_audit/`;
export const SPEC_FILE = `${SHARED_DIR}spec/k8saudit-fields.md`;

/** Names of the suite's trace files. */
export function traceNames(): string[] {
  return readdirSync(TRACE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/** The events of one suite trace (JSON Lines), decoded. */
export function traceEvents(name: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of readFileSync(TRACE_DIR + name, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = decodeAuditPayload(JSON.parse(line));
    if (r.error !== undefined) throw new Error(`${name}: ${r.error}`);
    events.push(...r.events);
  }
  return events;
}

/** The single event of a one-event trace. */
export function trace(name: string): AuditEvent {
  const events = traceEvents(name.endsWith('.json') ? name : `${name}.json`);
  if (events.length !== 1) throw new Error(`${name}: expected 1 event, got ${events.length}`);
  return events[0]!;
}

/** A minimal valid audit event merged with `extra` (which may override anything). */
export function makeEvent(extra: Record<string, unknown> = {}): AuditEvent {
  const obj: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'RequestResponse',
    auditID: '00000000-0000-0000-0000-000000000001',
    stage: 'ResponseComplete',
    stageTimestamp: '2024-05-06T07:08:09.123456Z',
    ...extra,
  };
  return new AuditEvent(obj as JsonObject, 1_715_000_000_000_000_000n);
}

/** An event whose `requestObject.spec` is `spec`. */
export function podEvent(spec: unknown, extra: Record<string, unknown> = {}): AuditEvent {
  return makeEvent({ requestObject: { kind: 'Pod', spec }, ...extra });
}

const byName = new Map(k8sAuditSource.fields.map((f) => [f.name, f]));

/** Binds a field by name (and optional argument) and extracts it from `evt`. */
export function extract(name: string, evt: AuditEvent, arg?: string): FieldValue {
  const def = byName.get(name);
  if (def === undefined) throw new Error(`no field ${name}`);
  return def.bind(arg)(evt);
}

/** Binds a field by name, for tests that expect bind errors. */
export function bind(name: string, arg?: string) {
  const def = byName.get(name);
  if (def === undefined) throw new Error(`no field ${name}`);
  return def.bind(arg);
}

/** A valid argument for every field that needs one, for sweeping all fields. */
export function sampleArg(name: string, arg: string): string | undefined {
  if (arg === 'key') {
    if (name === 'ka.uri.param') return 'command';
    if (name === 'ka.req.volume.hostpath') return '/etc*';
    if (name === 'ka.req.binding.subject.has_name') return 'cluster-admin';
    if (name === 'ka.jsonpath') return '$.requestObject..image';
    return '/requestObject/spec/containers/0/image';
  }
  return undefined;
}
