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

const targetResource = kaFields.find((f) => f.name === 'ka.target.resource')!.bind(undefined);

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
  index: {
    field: 'ka.target.resource',
    read: (evt) => {
      const v = targetResource(evt);
      return typeof v === 'string' ? v : undefined;
    },
  },
};
