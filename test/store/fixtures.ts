/** Builders of model values for the store tests: complete, and easy to vary. */
import type { Priority } from '../../src/engine/priority.js';
import type { Incident, IncidentLink, StoredAlert } from '../../src/incidents/model.js';

export const T0 = 1_732_791_234_123_456_789n;
export const SEC = 1_000_000_000n;

let counter = 0;

export function alert(over: Partial<StoredAlert> & { id?: string } = {}): StoredAlert {
  counter++;
  return {
    id: `a-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    kind: 'alert',
    time: T0 + BigInt(counter),
    rule: 'Terminal shell in container',
    priority: 'Notice',
    source: 'syscall',
    tags: ['container', 'shell', 'mitre_execution'],
    output: `12:00:00.000000000: Notice A shell was spawned in a container (user=root pod=web-1 cmd=bash #${counter})`,
    outputFields: { 'proc.cmdline': 'bash -i', 'evt.time': '1732791234123456789', 'proc.pid': 4242, 'fd.name': null, 'k8s.pod.labels': ['app:web', 'tier:1'] },
    hostname: 'node-1',
    correlation: { pod_uid: 'uid-1', container: 'c0ffee' },
    namespace: 'prod',
    pod: 'web-1',
    podUid: 'uid-1',
    containerId: 'c0ffee',
    user: 'alice',
    dedupKey: `shell|c0ffee|/bin/bash|${counter}`,
    receivedAt: 1_732_791_235_000,
    ...over,
  };
}

export function incident(over: Partial<Incident> & { id: string }): Incident {
  return {
    title: 'alice exec\'d into prod/web-1 and spawned a shell',
    severity: 'Warning' as Priority,
    status: 'open',
    actor: { kind: 'user', name: 'alice', confidence: 'exact' },
    target: { namespace: 'prod', pod: 'web-1', podUid: 'uid-1', container: 'app', node: 'node-1' },
    firstSeen: T0,
    lastSeen: T0 + 10n * SEC,
    alertCount: 1,
    rules: ['Terminal shell in container'],
    tactics: ['execution'],
    keys: [{ kind: 'pod_uid', value: 'uid-1' }, { kind: 'user', value: 'alice' }],
    createdAt: 1_732_791_235_000,
    updatedAt: 1_732_791_235_000,
    ...over,
  };
}

export function link(incidentId: string, alertId: string, over: Partial<IncidentLink> = {}): IncidentLink {
  return { incidentId, alertId, key: 'pod_uid', confidence: 'exact', detail: 'pod uid uid-1', ...over };
}
