/**
 * Hand-written types for the Kubernetes audit API (`audit.k8s.io/v1`, with
 * `v1beta1` accepted as the same shape), as kube-apiserver sends it to a
 * webhook or writes it to its log backend.
 *
 * These types describe well-formed input. Decoded events are attacker
 * controlled, so nothing in `src/audit` trusts them: `AuditEvent.obj` is typed
 * as a bare {@link JsonObject}, and field extractors check every type they
 * touch. Use these types for producing events (tests, samples) and for code
 * that has validated what it reads.
 */

/** Audit API versions the decoder accepts (it does not reject others, see `event.ts`). */
export type AuditApiVersion = 'audit.k8s.io/v1' | 'audit.k8s.io/v1beta1';

/** How much of a request the audit policy records. */
export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';

/** Where in request handling the event was generated. */
export type AuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';

/** `authentication.k8s.io/v1` UserInfo: who made (or is impersonated by) a request. */
export interface AuditUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  /** Extra attributes from the authenticator, e.g. `authentication.kubernetes.io/pod-name`. */
  extra?: Record<string, string[]>;
}

/** The object a request is about. */
export interface AuditObjectReference {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  /** Empty for the core group. */
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  /** e.g. `exec`, `attach`, `portforward`, `ephemeralcontainers`, `status`. */
  subresource?: string;
}

/** The parts of a `meta/v1` Status that audit events carry in `responseStatus`. */
export interface AuditResponseStatus {
  metadata?: Record<string, unknown>;
  status?: string;
  message?: string;
  reason?: string;
  details?: Record<string, unknown>;
  /** HTTP status, e.g. 101 for an upgraded exec, 201 for a create, 403 when forbidden. */
  code?: number;
}

/** One audit event (`kind: Event`). */
export interface AuditEventV1 {
  kind?: 'Event';
  apiVersion?: AuditApiVersion | string;
  level?: AuditLevel;
  /** Unique per request, shared by every stage of the same request. */
  auditID: string;
  stage?: AuditStage;
  /** Path and query as sent by the client, e.g. `/api/v1/namespaces/ns/pods/p/exec?command=sh`. */
  requestURI?: string;
  /** Kubernetes verb (`get`, `list`, `create`, `update`, `patch`, `delete`, `watch`, ...). */
  verb?: string;
  user?: AuditUserInfo;
  impersonatedUser?: AuditUserInfo;
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: AuditObjectReference;
  responseStatus?: AuditResponseStatus;
  /** The request body (levels Request and RequestResponse); any API object. */
  requestObject?: Record<string, unknown>;
  /** The response body (level RequestResponse only). */
  responseObject?: Record<string, unknown>;
  /** RFC 3339 with microseconds. */
  requestReceivedTimestamp?: string;
  /** RFC 3339 with microseconds; the event time. */
  stageTimestamp?: string;
  /** e.g. `authorization.k8s.io/decision`, `authorization.k8s.io/reason`, `pod-security.kubernetes.io/*`. */
  annotations?: Record<string, string>;
}

/** A batch of audit events (`kind: EventList`), the webhook backend's request body. */
export interface AuditEventListV1 {
  kind: 'EventList';
  apiVersion?: AuditApiVersion | string;
  metadata?: Record<string, unknown>;
  items: AuditEventV1[];
}

/** A parsed JSON object whose content is not trusted. */
export type JsonObject = { readonly [key: string]: unknown };
