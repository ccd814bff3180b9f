/**
 * What a piece of evidence is about (namespace, pod, pod UID, container,
 * user) and the key that groups a storm of identical alerts.
 */
import { fieldText } from './field-values.js';
import { shortDigest } from './ids.js';
import type { FieldValue } from './model.js';

/** What a piece of evidence is about, for filters and joins. */
export interface EvidenceSubject {
  readonly namespace?: string;
  readonly pod?: string;
  readonly podUid?: string;
  readonly containerId?: string;
  readonly user?: string;
  readonly dedupKey: string;
}

type Fields = Readonly<Record<string, FieldValue>>;
type Keys = Readonly<Record<string, string>>;

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function isPodTarget(correlation: Keys, fields: Fields): boolean {
  return (correlation.resource ?? fieldText(fields['ka.target.resource'])) === 'pods';
}

/**
 * Reads namespace, pod, pod UID, container and user: the source's
 * correlation keys first (they are computed from the event itself), then the
 * well-known output fields a rule may have printed.
 */
export function subjectOf(source: string, rule: string, hostname: string, correlation: Keys, fields: Fields): EvidenceSubject {
  const audit = source === 'k8s_audit';
  const namespace =
    nonEmpty(correlation.namespace) ?? fieldText(fields['k8s.ns.name']) ?? fieldText(fields['ka.target.namespace']);
  let pod = nonEmpty(correlation.pod) ?? fieldText(fields['k8s.pod.name']);
  if (pod === undefined && audit && isPodTarget(correlation, fields)) {
    pod =
      nonEmpty(correlation.name) ??
      fieldText(fields['ka.target.name']) ??
      fieldText(fields['ka.target.pod.name']) ??
      fieldText(fields['ka.resp.name']);
  }
  const podUid = nonEmpty(correlation.podUid) ?? fieldText(fields['k8s.pod.uid']) ?? fieldText(fields['k8s.pod.id']);
  let containerId = nonEmpty(correlation.containerId) ?? fieldText(fields['container.id']);
  // Falco's `host` is "not in a container": joining on it would join the whole node.
  if (containerId === 'host') containerId = undefined;
  const user = audit
    ? nonEmpty(correlation.user) ?? fieldText(fields['ka.user.name'])
    : nonEmpty(correlation.user);

  let dedupKey: string;
  if (audit) {
    dedupKey = shortDigest(
      'k8s_audit', rule, user ?? '',
      correlation.verb ?? fieldText(fields['ka.verb']) ?? '',
      namespace ?? '',
      correlation.resource ?? fieldText(fields['ka.target.resource']) ?? '',
      correlation.subresource ?? fieldText(fields['ka.target.subresource']) ?? '',
      correlation.name ?? fieldText(fields['ka.target.name']) ?? '',
    );
  } else {
    const exe = fieldText(fields['proc.exepath']) ?? fieldText(fields['proc.exe']) ?? fieldText(fields['proc.name']) ?? '';
    dedupKey = shortDigest(source, rule, containerId ?? `host:${hostname}`, exe);
  }
  const out: { -readonly [K in keyof EvidenceSubject]: EvidenceSubject[K] } = { dedupKey };
  if (namespace !== undefined) out.namespace = namespace;
  if (pod !== undefined) out.pod = pod;
  if (podUid !== undefined) out.podUid = podUid;
  if (containerId !== undefined) out.containerId = containerId;
  if (user !== undefined) out.user = user;
  return out;
}
