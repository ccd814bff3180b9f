/**
 * The `k8s_audit` event source: Kubernetes audit events with the fields of
 * the upstream k8saudit plugin, the json plugin, and Tiercel's `ka.jsonpath`.
 */
import type { SourceDefinition } from '../engine/fields.js';
import type { AuditEvent } from './event.js';
import { kaFields } from './fields.js';
import { jsonFields, kaJsonPath } from './json-fields.js';

/** Plugin versions the source stands in for, for rules files' `required_plugin_versions`. */
export const K8SAUDIT_PLUGIN_VERSION = '0.18.0';
/** See {@link K8SAUDIT_PLUGIN_VERSION}. */
export const JSON_PLUGIN_VERSION = '0.7.4';

const bindKa = (name: string) => kaFields.find((f) => f.name === name)!.bind(undefined);
const targetResource = bindKa('ka.target.resource');
const CORRELATION_FIELDS: readonly [string, (evt: AuditEvent) => unknown][] = [
  ['auditId', bindKa('ka.auditid')],
  ['user', bindKa('ka.user.name')],
  ['impersonatedUser', bindKa('ka.impuser.name')],
  ['verb', bindKa('ka.verb')],
  ['resource', targetResource],
  ['subresource', bindKa('ka.target.subresource')],
  ['namespace', bindKa('ka.target.namespace')],
  ['name', bindKa('ka.target.name')],
];

/** The `k8s_audit` source definition to register with the engine's field registry. */
export const k8sAuditSource: SourceDefinition<AuditEvent> = {
  name: 'k8s_audit',
  desc: 'Kubernetes API server audit events (webhook or log backend)',
  fields: [...kaFields, kaJsonPath, ...jsonFields],
  provides: [
    { name: 'k8saudit', version: K8SAUDIT_PLUGIN_VERSION },
    { name: 'json', version: JSON_PLUGIN_VERSION },
  ],
  // Nearly every k8s_audit rule is about one kind of resource (pods,
  // configmaps, clusterroles...): indexing by it means an event is checked
  // only against the rules that can match its resource.
  // The audit ID and the request's actor and target: what the correlator joins on.
  correlate: (evt) => {
    const out: Record<string, string> = {};
    for (const [key, extract] of CORRELATION_FIELDS) {
      const v = extract(evt);
      if (typeof v === 'string' && v !== '') out[key] = v;
    }
    return out;
  },
  index: {
    field: 'ka.target.resource',
    read: (evt) => {
      const v = targetResource(evt);
      return typeof v === 'string' ? v : undefined;
    },
  },
};
