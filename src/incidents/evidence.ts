/**
 * Evidence as the correlator and the store see it ({@link StoredAlert}):
 * from the engine's alerts, from Falco-schema JSON posted by agents, Falco
 * or Falcosidekick, and from the few audit events that give context.
 */
import { type Alert, alertText } from '../engine/alert.js';
import { jsonSafeFields } from './field-values.js';
import type { StoredAlert } from './model.js';
import { subjectOf } from './subject.js';

export { EvidenceInputError, parseAlertJson, ALERT_JSON_LIMITS } from './alert-json.js';
export { contextFromAuditEvent } from './audit-context.js';
export { subjectOf, type EvidenceSubject } from './subject.js';

/** Builds the stored form of an engine alert. */
export function evidenceFromAlert(
  alert: Alert,
  options: { readonly id: string; readonly receivedAt: number; readonly kind?: 'alert' },
): StoredAlert {
  const outputFields = jsonSafeFields(alert.outputFields);
  const correlation = alert.correlation ?? {};
  return {
    id: options.id,
    kind: options.kind ?? 'alert',
    time: alert.time,
    rule: alert.rule,
    priority: alert.priority,
    source: alert.source,
    tags: alert.tags,
    output: alertText(alert),
    outputFields,
    hostname: alert.hostname,
    correlation,
    ...subjectOf(alert.source, alert.rule, alert.hostname, correlation, outputFields),
    receivedAt: options.receivedAt,
  };
}
