/**
 * The 100 `ka.*` fields of the upstream k8saudit plugin (0.18.0), with its
 * semantics: values are strings (non-string JSON rendered as compact JSON
 * text), a missing key is "not available", list fields return
 * `readonly string[]` (never empty: empty is reported as `undefined`), and
 * every field is unavailable on an event without a top-level `auditID`.
 *
 * The table order is upstream's (`fields.go`); pod and container fields live
 * in `fields-pod.ts`.
 */
import type { AuditEvent } from './event.js';
import { memoKey } from './event.js';
import { type AuditField, field, flattenArraysAt, getPath, listAt, scalarAt } from './field-def.js';
import {
  CONTAINER_SUFFIXES,
  containerListFields,
  podScalarFields as pod,
  reqContainerImage,
  reqContainerImageRepository,
  reqContainerPrivileged,
} from './fields-pod.js';
import { fixedPath, getFixed, renderJson, requireKeyArg } from './json-walk.js';
import { parseUriQuery } from './uri-query.js';

const URI_QUERY = memoKey<Map<string, string> | undefined>('ka.uri.query');

function uriQuery(e: AuditEvent): Map<string, string> | undefined {
  return e.memo(URI_QUERY, (evt) => {
    const uri = evt.obj['requestURI'];
    if (uri === undefined) return undefined;
    const text = renderJson(uri);
    return text === undefined ? undefined : parseUriQuery(text);
  });
}

const subjectsPath = fixedPath('requestObject', 'subjects');

/**
 * The names of the binding subjects of one kind (`User`, `ServiceAccount`,
 * `Group`). Subjects without a string name are skipped; with `withNamespace`
 * the value is `namespace:name` and subjects without a namespace are skipped.
 */
function subjectNames(kind: string, withNamespace: boolean) {
  return () =>
    (e: AuditEvent): readonly string[] | undefined => {
      if (!e.hasAuditID) return undefined;
      const subjects = getPath(e.obj, subjectsPath);
      if (!Array.isArray(subjects)) return undefined;
      let out: string[] | undefined;
      for (let i = 0; i < subjects.length; i++) {
        const s = subjects[i];
        if (getFixed(s, 'kind') !== kind) continue;
        const name = getFixed(s, 'name');
        if (typeof name !== 'string') continue;
        if (withNamespace) {
          const ns = getFixed(s, 'namespace');
          if (typeof ns !== 'string' || ns === '') continue;
          (out ??= []).push(`${ns}:${name}`);
        } else {
          (out ??= []).push(name);
        }
      }
      return out;
    };
}

const annotation = (key: string) => scalarAt('annotations', key);

const containers = containerListFields('containers');
const initContainers = containerListFields('initContainers');
const ephemeralContainers = containerListFields('ephemeralContainers');

/** Every `ka.*` field, in upstream's order. */
export const kaFields: readonly AuditField[] = [
  field({ name: 'ka.auditid', desc: 'Unique id of the audit event (shared by all stages of a request)', bind: scalarAt('auditID') }),
  field({ name: 'ka.stage', desc: 'Request stage of the event (RequestReceived, ResponseStarted, ResponseComplete, Panic)', bind: scalarAt('stage') }),
  field({ name: 'ka.auth.decision', desc: 'Authorization decision annotation (allow, forbid)', bind: annotation('authorization.k8s.io/decision') }),
  field({ name: 'ka.auth.reason', desc: 'Authorization reason annotation', bind: annotation('authorization.k8s.io/reason') }),
  field({ name: 'ka.auth.openshift.decision', desc: 'OpenShift authentication decision annotation (OpenShift clusters only)', bind: annotation('authentication.openshift.io/decision') }),
  field({ name: 'ka.validations.admission.policy.failure', desc: 'Validating admission policy failure annotation', bind: annotation('validation.policy.admission.k8s.io/validation_failure') }),
  field({ name: 'ka.security.pod.violations', desc: 'Pod Security admission audit-violations annotation', bind: annotation('pod-security.kubernetes.io/audit-violations') }),
  field({ name: 'ka.auth.openshift.username', desc: 'OpenShift authenticated user name annotation (OpenShift clusters only)', bind: annotation('authentication.openshift.io/username') }),
  field({ name: 'ka.user.name', desc: 'Name of the user who made the request', bind: scalarAt('user', 'username') }),
  field({ name: 'ka.user.groups', desc: 'Groups of the user who made the request', list: true, bind: listAt('user', 'groups') }),
  field({ name: 'ka.impuser.name', desc: 'Name of the user impersonated by the request', bind: scalarAt('impersonatedUser', 'username') }),
  field({ name: 'ka.verb', desc: 'Kubernetes verb of the request (get, create, delete, ...)', bind: scalarAt('verb') }),
  field({ name: 'ka.uri', desc: 'Request URI as sent by the client', bind: scalarAt('requestURI') }),
  field({
    name: 'ka.uri.param',
    cache: true,
    desc: 'First value of the given query parameter of the request URI (ka.uri.param[command])',
    arg: 'key',
    bind: (arg) => {
      const key = requireKeyArg('ka.uri.param', arg);
      return (e) => (e.hasAuditID ? uriQuery(e)?.get(key) : undefined);
    },
  }),
  field({ name: 'ka.target.name', desc: 'Name of the object the request is about', bind: scalarAt('objectRef', 'name') }),
  field({ name: 'ka.target.namespace', desc: 'Namespace of the object the request is about', bind: scalarAt('objectRef', 'namespace') }),
  field({ name: 'ka.target.resource', desc: 'Resource type the request is about (pods, secrets, ...)', bind: scalarAt('objectRef', 'resource') }),
  field({ name: 'ka.target.subresource', desc: 'Subresource the request is about (exec, attach, status, ...)', bind: scalarAt('objectRef', 'subresource') }),
  field({
    name: 'ka.target.pod.name',
    desc: 'Name of the pod in the response, for requests on pods themselves (no subresource)',
    bind: () => {
      const name = fixedPath('responseObject', 'metadata', 'name');
      return (e) => {
        if (!e.hasAuditID) return undefined;
        const ref = e.obj['objectRef'];
        if (getFixed(ref, 'resource') !== 'pods') return undefined;
        const sub = getFixed(ref, 'subresource');
        if (sub !== undefined && sub !== '') return undefined;
        return renderJson(getPath(e.obj, name));
      };
    },
  }),
  field({ name: 'ka.req.binding.subjects', desc: 'Subjects of the (cluster) role binding in the request, each as JSON text', list: true, bind: listAt('requestObject', 'subjects') }),
  field({ name: 'ka.req.binding.subjects.user_names', desc: 'Names of the User subjects of the binding in the request', list: true, bind: subjectNames('User', false) }),
  field({ name: 'ka.req.binding.subjects.serviceaccount_names', desc: 'Names of the ServiceAccount subjects of the binding in the request', list: true, bind: subjectNames('ServiceAccount', false) }),
  field({ name: 'ka.req.binding.subjects.serviceaccount_ns_names', desc: 'namespace:name of the ServiceAccount subjects of the binding in the request', list: true, bind: subjectNames('ServiceAccount', true) }),
  field({ name: 'ka.req.binding.subjects.group_names', desc: 'Names of the Group subjects of the binding in the request', list: true, bind: subjectNames('Group', false) }),
  field({ name: 'ka.req.binding.role', desc: 'Role referenced by the binding in the request (roleRef.name)', bind: scalarAt('requestObject', 'roleRef', 'name') }),
  field({
    name: 'ka.req.binding.subject.has_name',
    // Upstream documents "N/A" but returns "true" for compatibility with the
    // original k8s audit support; so do we.
    desc: 'Always "true"; kept only so that old rules still load',
    arg: 'key',
    deprecated: true,
    bind: (arg) => {
      requireKeyArg('ka.req.binding.subject.has_name', arg);
      return (e) => (e.hasAuditID ? 'true' : undefined);
    },
  }),
  field({ name: 'ka.req.configmap.name', desc: 'Name of the configmap the request is about (same as ka.target.name)', bind: scalarAt('objectRef', 'name') }),
  field({
    name: 'ka.req.configmap.obj',
    cache: true,
    desc: 'data of the configmap in the request, as JSON text',
    bind: () => {
      const data = fixedPath('requestObject', 'data');
      return (e) => {
        // Serialized once per event thanks to the field cache, although the
        // upstream rules test it with several `contains`.
        return e.hasAuditID ? renderJson(getPath(e.obj, data)) : undefined;
      };
    },
  }),
  containers['args']!,
  containers['command']!,
  containers['name']!,
  containers['image']!,
  reqContainerImage,
  containers['image.repository']!,
  reqContainerImageRepository,
  pod.hostIpc,
  pod.hostNetwork,
  pod.containerHostNetwork,
  pod.hostPid,
  containers['host_port']!,
  containers['privileged']!,
  reqContainerPrivileged,
  containers['allow_privilege_escalation']!,
  containers['read_only_fs']!,
  pod.runAsUser,
  containers['run_as_user']!,
  containers['eff_run_as_user']!,
  pod.runAsGroup,
  containers['run_as_group']!,
  containers['eff_run_as_group']!,
  containers['proc_mount']!,
  field({ name: 'ka.req.role.rules', desc: 'Rules of the (cluster) role in the request, each as JSON text', list: true, bind: listAt('requestObject', 'rules') }),
  field({ name: 'ka.req.role.rules.apiGroups', desc: 'API groups of all rules of the role in the request', list: true, arg: 'index', bind: flattenArraysAt('ka.req.role.rules.apiGroups', 'requestObject', 'rules', 'apiGroups') }),
  field({ name: 'ka.req.role.rules.nonResourceURLs', desc: 'Non-resource URLs of all rules of the role in the request', list: true, arg: 'index', bind: flattenArraysAt('ka.req.role.rules.nonResourceURLs', 'requestObject', 'rules', 'nonResourceURLs') }),
  field({ name: 'ka.req.role.rules.verbs', desc: 'Verbs of all rules of the role in the request', list: true, arg: 'index', bind: flattenArraysAt('ka.req.role.rules.verbs', 'requestObject', 'rules', 'verbs') }),
  field({ name: 'ka.req.role.rules.resources', desc: 'Resources of all rules of the role in the request', list: true, arg: 'index', bind: flattenArraysAt('ka.req.role.rules.resources', 'requestObject', 'rules', 'resources') }),
  pod.fsGroup,
  pod.supplementalGroups,
  containers['add_capabilities']!,
  pod.serviceType,
  pod.servicePorts,
  pod.volumesHostpath,
  pod.volumeHostpath,
  pod.flexvolumeDriver,
  pod.volumeType,
  field({ name: 'ka.resp.name', desc: 'Name of the object in the response', bind: scalarAt('responseObject', 'metadata', 'name') }),
  field({ name: 'ka.response.code', desc: 'HTTP status code of the response (e.g. 201)', bind: scalarAt('responseStatus', 'code') }),
  field({ name: 'ka.response.reason', desc: 'Reason of the response status (mostly on failures)', bind: scalarAt('responseStatus', 'reason') }),
  field({ name: 'ka.useragent', desc: 'User agent of the client that made the request', bind: scalarAt('userAgent') }),
  field({
    name: 'ka.sourceips',
    // Upstream bug kept on purpose (rules written for Falco must behave the
    // same): it reads requestObject.rules[*].sourceIPs, not the top-level
    // sourceIPs, so it is practically never available. Use
    // jevt.value[/sourceIPs/0] or ka.jsonpath[$.sourceIPs[*]] for the client IPs.
    desc: 'Client IP addresses (as upstream: read from requestObject.rules[*].sourceIPs, so rarely set)',
    list: true,
    arg: 'index',
    bind: flattenArraysAt('ka.sourceips', 'requestObject', 'rules', 'sourceIPs'),
  }),
  field({ name: 'ka.cluster.name', desc: 'Cluster name annotation (cluster_name)', bind: annotation('cluster_name') }),
  ...CONTAINER_SUFFIXES.map((s) => initContainers[s]!),
  ...CONTAINER_SUFFIXES.filter((s) => s !== 'host_port').map((s) => ephemeralContainers[s]!),
];
