/**
 * Every file under manifests/ parses, and every object has the fields its
 * kind requires; the pieces fit together (selectors, named ports, volumes,
 * ConfigMap generators, the kubeconfig's references); the audit policy
 * records what the rules need and never a secret's body; the analyzer's
 * tiercel.yaml is a valid config whose paths are mounted; its incident
 * store's data_dir is a read-write PersistentVolumeClaim opened by one pod at
 * a time (Recreate), retention fits the volume, and every environment
 * variable the config names (API tokens) comes from a required Secret that
 * README.md says how to create; the local rules load. The node agent's
 * DaemonSet has exactly the privileges it is meant to (no `privileged`, five
 * capabilities, host PID, read-only host mounts), its tiercel.yaml is valid
 * with the agent's defaults and forwards alerts to the analyzer's Service
 * (name, namespace, port, a name its certificate carries) with a token from a
 * Secret and the mounted CA; the image build copies what the package's build
 * needs; and, as root, each added capability is shown to be needed by the
 * /proc scan. With kubectl on the PATH, `kubectl kustomize` must build the
 * analyzer and the agent too.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { validateConfig } from '../../src/config/schema.js';
import { loadRules } from '../../src/engine/loader.js';
import { createRegistry } from '../../src/sources.js';
import { ROOT } from '../helpers/cli.js';

type Obj = Record<string, any>;

const MANIFESTS = join(ROOT, 'manifests');

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

/** Files that are not Kubernetes objects: Tiercel's own config and rules, shipped in ConfigMaps. */
const NOT_OBJECTS = new Set(['analyzer/tiercel.yaml', 'analyzer/rules/local_rules.yaml', 'agent/tiercel.yaml', 'agent/rules/local_rules.yaml']);

interface Doc {
  readonly file: string;
  readonly obj: Obj;
}

function load(): Doc[] {
  const docs: Doc[] = [];
  for (const file of yamlFiles(MANIFESTS)) {
    const rel = relative(MANIFESTS, file);
    const parsed = parseAllDocuments(readFileSync(file, 'utf8'));
    const list = Array.isArray(parsed) ? parsed : [parsed];
    for (const d of list) {
      assert.deepEqual(d.errors.map((e) => e.message), [], `${rel} parses`);
      if (NOT_OBJECTS.has(rel)) continue;
      const obj = d.toJS() as Obj | null;
      if (obj === null) continue;
      docs.push({ file: rel, obj });
    }
  }
  return docs;
}

function isRecord(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireName(d: Doc): void {
  assert.match(String(d.obj.metadata?.name ?? ''), /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, `${d.file}: metadata.name`);
}

function subset(small: Obj, big: Obj): boolean {
  return Object.entries(small).every(([k, v]) => big[k] === v);
}

/** A Kubernetes quantity in bytes (the binary and decimal suffixes manifests use). */
function bytesOf(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  assert.ok(m, `quantity ${q}`);
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] ? units[m[2]]! : 1);
}

/**
 * The environment a container gets from Secrets that must exist (not
 * optional), with a stand-in value for each: what the process can count on.
 */
function requiredSecretEnv(container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (container.env ?? []) as Obj[]) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref && ref.optional !== true) env[e.name] = `stand-in-${ref.name}-${ref.key}-0123456789abcdef`;
  }
  return env;
}

/** Asserts that `variable` is set in the container from a required Secret key; returns the reference. */
function requireSecretEnv(container: Obj, variable: string, what: string): Obj {
  const e = ((container.env ?? []) as Obj[]).filter((x) => x.name === variable);
  assert.equal(e.length, 1, `${what}: ${variable} is set once in the container`);
  const ref = e[0]!.valueFrom?.secretKeyRef;
  assert.ok(ref?.name && ref.key, `${what}: ${variable} comes from a Secret (secretKeyRef), not a literal`);
  assert.notEqual(ref.optional, true, `${what}: ${variable}'s Secret is required (the process refuses to start without it)`);
  return ref;
}

/** Every Secret a pod needs (required env references and secret volumes), by name. */
function requiredSecrets(pod: Obj): Set<string> {
  const names = new Set<string>();
  for (const c of pod.containers as Obj[]) {
    for (const e of (c.env ?? []) as Obj[]) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && ref.optional !== true) names.add(ref.name);
    }
  }
  for (const v of (pod.volumes ?? []) as Obj[]) if (v.secret && v.secret.optional !== true) names.add(v.secret.secretName);
  return names;
}

describe('manifests', () => {
  const docs = load();
  const byKind = (kind: string): Doc[] => docs.filter((d) => d.obj.kind === kind);

  it('every file parses and every object has apiVersion and kind', () => {
    assert.ok(docs.length >= 7, `found ${docs.length} objects`);
    for (const d of docs) {
      assert.equal(typeof d.obj.apiVersion, 'string', `${d.file}: apiVersion`);
      assert.equal(typeof d.obj.kind, 'string', `${d.file}: kind`);
    }
    const kinds = new Set(docs.map((d) => d.obj.kind));
    for (const k of ['Policy', 'Config', 'Kustomization', 'Namespace', 'ServiceAccount', 'Deployment', 'Service']) {
      assert.ok(kinds.has(k), `a ${k}`);
    }
  });

  it('Namespace and ServiceAccount', () => {
    for (const d of [...byKind('Namespace'), ...byKind('ServiceAccount')]) {
      assert.equal(d.obj.apiVersion, 'v1', d.file);
      requireName(d);
    }
    for (const d of byKind('ServiceAccount')) assert.equal(d.obj.automountServiceAccountToken, false, 'no API token');
  });

  it('Deployment: selector, containers, ports, probes, volumes, least privilege', () => {
    const accounts = new Set(byKind('ServiceAccount').map((d) => d.obj.metadata.name));
    for (const d of byKind('Deployment')) {
      assert.equal(d.obj.apiVersion, 'apps/v1', d.file);
      requireName(d);
      const spec = d.obj.spec;
      assert.ok(isRecord(spec.selector?.matchLabels), 'spec.selector.matchLabels');
      const tmpl = spec.template;
      assert.ok(subset(spec.selector.matchLabels, tmpl.metadata.labels), 'the selector matches the template labels');
      const pod = tmpl.spec;
      assert.ok(accounts.has(pod.serviceAccountName), 'serviceAccountName exists');
      assert.equal(pod.securityContext?.runAsNonRoot, true, 'runAsNonRoot');
      assert.ok(Array.isArray(pod.containers) && pod.containers.length > 0, 'containers');
      const volumes = new Set((pod.volumes ?? []).map((v: Obj) => v.name));
      const byName = new Map((pod.volumes ?? []).map((v: Obj) => [v.name, v]));
      const claims = new Map(byKind('PersistentVolumeClaim').filter((x) => dirname(x.file) === dirname(d.file)).map((x) => [x.obj.metadata.name, x.obj]));
      for (const v of pod.volumes ?? []) {
        assert.ok(v.configMap?.name || v.secret?.secretName || v.emptyDir || v.persistentVolumeClaim?.claimName, `volume ${v.name} has a source`);
        if (v.persistentVolumeClaim) assert.ok(claims.has(v.persistentVolumeClaim.claimName), `volume ${v.name}: the claim ${v.persistentVolumeClaim.claimName} is defined beside the Deployment`);
        if (v.emptyDir) assert.ok(v.emptyDir.sizeLimit, `emptyDir ${v.name} has a sizeLimit`);
      }
      // A ReadWriteOnce claim: one pod at a time, also during a rollout.
      const rwo = (pod.volumes ?? []).filter((v: Obj) => v.persistentVolumeClaim && claims.get(v.persistentVolumeClaim.claimName)?.spec.accessModes.includes('ReadWriteOnce'));
      if (rwo.length > 0) {
        assert.equal(spec.replicas, 1, 'one replica on a ReadWriteOnce volume');
        assert.equal(spec.strategy?.type, 'Recreate', 'Recreate: a RollingUpdate would run two pods on the ReadWriteOnce volume');
      }
      for (const c of pod.containers as Obj[]) {
        assert.ok(c.name && c.image, 'container name and image');
        const ports = new Set((c.ports ?? []).map((p: Obj) => {
          assert.ok(Number.isInteger(p.containerPort), 'containerPort');
          assert.ok(!p.name || p.name.length <= 15, 'port names are at most 15 characters');
          return p.name;
        }));
        for (const probe of [c.readinessProbe, c.livenessProbe]) {
          assert.ok(probe?.httpGet, 'probes');
          assert.ok(ports.has(probe.httpGet.port), `probe port ${probe.httpGet.port} is a named port`);
          assert.equal(probe.httpGet.scheme, 'HTTPS', 'the webhook serves TLS');
        }
        for (const m of c.volumeMounts ?? []) {
          assert.ok(volumes.has(m.name), `mount ${m.name} has a volume`);
          const v = byName.get(m.name) as Obj;
          // Only storage is writable; configuration and secrets are read-only.
          if (m.readOnly !== true) assert.ok(v.persistentVolumeClaim || v.emptyDir, `${m.mountPath} is writable, so it is a claim or an emptyDir`);
          if (v.configMap || v.secret) assert.equal(m.readOnly, true, `${m.mountPath} (${v.configMap ? 'ConfigMap' : 'Secret'}) is read-only`);
        }
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
        assert.ok(c.resources?.requests && c.resources?.limits?.memory, 'resources');
      }
    }
  });

  it('Service: selects the Deployment and targets its named port', () => {
    const deployments = byKind('Deployment');
    for (const d of byKind('Service')) {
      assert.equal(d.obj.apiVersion, 'v1');
      requireName(d);
      const spec = d.obj.spec;
      assert.ok(Array.isArray(spec.ports) && spec.ports.length > 0, 'ports');
      const target = deployments.find((dep) => subset(spec.selector, dep.obj.spec.template.metadata.labels));
      assert.ok(target, 'the selector matches a Deployment');
      const named = new Set(target.obj.spec.template.spec.containers.flatMap((c: Obj) => (c.ports ?? []).map((p: Obj) => p.name)));
      for (const p of spec.ports) {
        assert.ok(Number.isInteger(p.port), 'port');
        assert.ok(typeof p.targetPort === 'number' || named.has(p.targetPort), `targetPort ${p.targetPort}`);
      }
    }
  });

  it('PersistentVolumeClaim: ReadWriteOnce, a size, listed in its kustomization and mounted', () => {
    const claims = byKind('PersistentVolumeClaim');
    assert.ok(claims.length > 0, "the analyzer's data volume");
    for (const d of claims) {
      assert.equal(d.obj.apiVersion, 'v1');
      requireName(d);
      assert.deepEqual(d.obj.spec.accessModes, ['ReadWriteOnce'], d.file);
      assert.ok(bytesOf(d.obj.spec.resources.requests.storage) >= 2 ** 30, `${d.file}: at least 1Gi`);
      const k = byKind('Kustomization').find((x) => dirname(x.file) === dirname(d.file));
      assert.ok(k?.obj.resources.includes(posix.basename(d.file)), `${d.file} is a resource of its kustomization`);
      const users = byKind('Deployment').filter((x) => x.obj.spec.template.spec.volumes?.some((v: Obj) => v.persistentVolumeClaim?.claimName === d.obj.metadata.name));
      assert.equal(users.length, 1, `${d.obj.metadata.name} is mounted by one Deployment`);
    }
  });

  it('Kustomization: resources and generator files exist, generated ConfigMaps are mounted', () => {
    for (const d of byKind('Kustomization')) {
      const base = join(MANIFESTS, dirname(d.file));
      for (const r of d.obj.resources ?? []) assert.ok(existsSync(join(base, r)), `resource ${r}`);
      const generated = new Set<string>();
      for (const g of d.obj.configMapGenerator ?? []) {
        assert.ok(g.name, 'generator name');
        generated.add(g.name);
        for (const f of g.files ?? []) assert.ok(existsSync(join(base, f.split('=').pop())), `generator file ${f}`);
      }
      const mounted = [...byKind('Deployment'), ...byKind('DaemonSet')].filter((x) => dirname(x.file) === dirname(d.file))
        .flatMap((x) => x.obj.spec.template.spec.volumes.filter((v: Obj) => v.configMap).map((v: Obj) => v.configMap.name));
      for (const m of mounted) assert.ok(generated.has(m), `ConfigMap ${m} is generated`);
    }
  });

  it('kubectl kustomize builds the analyzer (when kubectl is installed)', () => {
    let kubectl = true;
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    } catch {
      kubectl = false;
    }
    if (!kubectl) return; // the structural checks above stand alone
    const out = execFileSync('kubectl', ['kustomize', join(MANIFESTS, 'analyzer')], { encoding: 'utf8' });
    const built = parseAllDocuments(out);
    const objs = (Array.isArray(built) ? built : [built]).map((x) => x.toJS() as Obj);
    const dep = objs.find((o) => o.kind === 'Deployment')!;
    const cms = new Set(objs.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name));
    for (const v of dep.spec.template.spec.volumes) if (v.configMap) assert.ok(cms.has(v.configMap.name), v.configMap.name);
    const pvcs = new Set(objs.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata.name));
    for (const v of dep.spec.template.spec.volumes) if (v.persistentVolumeClaim) assert.ok(pvcs.has(v.persistentVolumeClaim.claimName), v.persistentVolumeClaim.claimName);
    assert.ok(objs.every((o) => o.kind === 'Namespace' || o.metadata.namespace === 'tiercel'));
  });

  it('audit Policy: valid levels and stages; what the rules need; no secret bodies', () => {
    const [policy] = byKind('Policy');
    assert.ok(policy);
    assert.equal(policy.obj.apiVersion, 'audit.k8s.io/v1');
    const levels = ['None', 'Metadata', 'Request', 'RequestResponse'];
    const stages = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];
    assert.deepEqual(policy.obj.omitStages, ['RequestReceived']);
    const rules = policy.obj.rules as Obj[];
    assert.ok(rules.length > 0);
    for (const r of rules) {
      assert.ok(levels.includes(r.level), `level ${r.level}`);
      for (const s of r.omitStages ?? []) assert.ok(stages.includes(s));
      for (const g of r.resources ?? []) assert.ok(typeof g.group === 'string' && Array.isArray(g.resources));
    }
    assert.deepEqual(Object.keys(rules.at(-1)!), ['level'], 'a catch-all rule last');

    /** The level of the first rule matching a request (the policy's semantics, for the fields used here). */
    const levelOf = (req: { group: string; resource: string; verb: string; namespace?: string; user?: string }): string => {
      for (const r of rules) {
        if (r.verbs && !r.verbs.includes(req.verb)) continue;
        if (r.users && !r.users.includes(req.user)) continue;
        if (r.userGroups) continue; // the requests below are by ordinary users
        if (r.nonResourceURLs) continue;
        if (r.namespaces && !r.namespaces.includes(req.namespace)) continue;
        if (r.resources && !r.resources.some((g: Obj) => g.group === req.group && g.resources.includes(req.resource))) continue;
        return r.level;
      }
      return 'None';
    };
    const rank = (l: string): number => levels.indexOf(l);
    for (const verb of ['get', 'list', 'create', 'update', 'patch', 'delete']) {
      assert.equal(levelOf({ group: '', resource: 'secrets', verb, namespace: 'default' }), 'Metadata', `secrets ${verb}`);
      assert.equal(levelOf({ group: '', resource: 'serviceaccounts/token', verb, namespace: 'default' }), 'Metadata');
    }
    for (const resource of ['pods/exec', 'pods/attach', 'pods/portforward']) {
      assert.equal(levelOf({ group: '', resource, verb: 'create', namespace: 'default' }), 'RequestResponse', resource);
    }
    assert.equal(levelOf({ group: '', resource: 'pods', verb: 'create', namespace: 'default' }), 'RequestResponse');
    for (const resource of ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings']) {
      assert.equal(levelOf({ group: 'rbac.authorization.k8s.io', resource, verb: 'create' }), 'RequestResponse', resource);
    }
    // What Tiercel's rules read from request bodies (docs/rules/k8s_audit.md).
    for (const [group, resource] of [['apps', 'daemonsets'], ['apps', 'deployments'], ['batch', 'cronjobs'], ['', 'services'],
      ['', 'namespaces'], ['', 'serviceaccounts'], ['', 'configmaps'], ['admissionregistration.k8s.io', 'mutatingwebhookconfigurations'],
      ['certificates.k8s.io', 'certificatesigningrequests'], ['networking.k8s.io', 'ingresses']] as const) {
      assert.ok(rank(levelOf({ group, resource, verb: 'create', namespace: 'default' })) >= rank('Request'), `${group}/${resource}`);
    }
    assert.equal(levelOf({ group: '', resource: 'configmaps', verb: 'update', namespace: 'kube-system' }), 'Metadata');
    assert.equal(levelOf({ group: '', resource: 'events', verb: 'delete', namespace: 'default' }), 'Metadata', 'deleting events is recorded');
  });

  it('webhook kubeconfig: an HTTPS server on /k8s-audit, and every reference resolves', () => {
    const [cfg] = byKind('Config');
    assert.ok(cfg);
    assert.equal(cfg.obj.apiVersion, 'v1');
    const o = cfg.obj;
    const clusters = new Map((o.clusters as Obj[]).map((c) => [c.name, c.cluster]));
    const users = new Map((o.users as Obj[]).map((u) => [u.name, u.user]));
    const contexts = new Map((o.contexts as Obj[]).map((c) => [c.name, c.context]));
    const current = contexts.get(o['current-context']);
    assert.ok(current, 'current-context names a context');
    const cluster = clusters.get(current.cluster);
    assert.ok(cluster, 'the context names a cluster');
    assert.ok(users.has(current.user), 'the context names a user');
    const url = new URL(cluster.server);
    assert.equal(url.protocol, 'https:');
    assert.equal(url.pathname, '/k8s-audit');
    assert.ok(cluster['certificate-authority'] || cluster['certificate-authority-data'], 'the CA that verifies Tiercel');
    const user = users.get(current.user);
    assert.ok((user['client-certificate'] && user['client-key']) || user.token || user.tokenFile, 'credentials');
  });

  it("the analyzer's tiercel.yaml is a valid config whose files are mounted, and the local rules load", () => {
    const base = join(MANIFESTS, 'analyzer');
    const raw = parseConfigText(readFileSync(join(base, 'tiercel.yaml'), 'utf8'), 'tiercel.yaml');
    const dep = byKind('Deployment')[0]!.obj;
    const container = dep.spec.template.spec.containers[0];
    const mounts = (container.volumeMounts as Obj[]).map((m) => m.mountPath as string);
    const configPath = container.args[container.args.indexOf('--config') + 1] as string;
    assert.ok(mounts.some((m) => configPath === `${m}/tiercel.yaml`), 'the --config file is the mounted ConfigMap');

    // Stand-in files for the mounted ones, then the real validation.
    const fake = mkdtempSync(join(tmpdir(), 'tiercel-mounts-'));
    const inContainer: string[] = [];
    const swap = (p: string): string => {
      inContainer.push(p);
      const local = join(fake, p.replace(/\//g, '_'));
      writeFileSync(local, '');
      return local;
    };
    const webhook = raw['webhook'] as Obj;
    const tls = webhook.tls as Obj;
    const withFakeFiles = {
      ...raw,
      webhook: { ...webhook, tls: { cert_file: swap(tls.cert_file), key_file: swap(tls.key_file), client_ca_file: swap(tls.client_ca_file) } },
    };
    // Every environment variable the config names comes from a required Secret in the container...
    const named: Array<[string, string]> = [];
    for (const [i, t] of (((raw['api'] as Obj | undefined)?.tokens ?? []) as Obj[]).entries()) if (t.token_env) named.push([`api.tokens[${i}]`, t.token_env]);
    if ((raw['store'] as Obj | undefined)?.url_env) named.push(['store.url_env', (raw['store'] as Obj).url_env]);
    if ((webhook.auth as Obj | undefined)?.bearer_token_env) named.push(['webhook.auth.bearer_token_env', (webhook.auth as Obj).bearer_token_env]);
    for (const [what, variable] of named) requireSecretEnv(container, variable, what);
    // ...so the config validates with exactly what those Secrets provide, and not without one of them.
    const env = requiredSecretEnv(container);
    const config = validateConfig(withFakeFiles, { env });
    for (const [what, variable] of named) {
      const { [variable]: _dropped, ...without } = env;
      assert.throws(() => validateConfig(withFakeFiles, { env: without }), new RegExp(variable), `without ${variable} (${what}) the analyzer refuses to start`);
    }
    assert.deepEqual(config.warnings, []);
    assert.equal(config.webhook.listen.host, '', 'listens on every interface in the pod');
    const port = (container.ports as Obj[]).find((p) => p.name === container.readinessProbe.httpGet.port)!;
    assert.equal(config.webhook.listen.port, port.containerPort, 'the probes and the Service use the configured port');
    for (const p of [...inContainer, ...config.rulesFiles]) {
      assert.ok(p.startsWith('/app/') || mounts.some((m) => p === m || p.startsWith(`${m}/`)), `${p} is in the image or mounted`);
    }
    const secretName = dep.spec.template.spec.volumes.find((v: Obj) => v.secret)?.secret.secretName;
    assert.equal(secretName, 'tiercel-webhook-tls');

    // The incident store: data_dir is a read-write PersistentVolumeClaim (the root filesystem is read-only).
    const pod = dep.spec.template.spec as Obj;
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    const inc = config.incidents;
    assert.equal(inc.enabled, true, 'the incident store and API are on');
    const dataMount = (container.volumeMounts as Obj[]).find((m) => m.mountPath === inc.dataDir);
    assert.ok(dataMount, `data_dir ${inc.dataDir} is a mount point (the default ./data is under the read-only /app)`);
    assert.notEqual(dataMount.readOnly, true, 'data_dir is mounted read-write');
    assert.equal(dataMount.subPath, undefined);
    const dataVolume = (pod.volumes as Obj[]).find((v) => v.name === dataMount.name)!;
    assert.ok(dataVolume.persistentVolumeClaim, 'data_dir is persistent: a PersistentVolumeClaim, not an emptyDir');
    assert.notEqual(dataVolume.persistentVolumeClaim.readOnly, true);
    const claim = byKind('PersistentVolumeClaim').find((d) => dirname(d.file) === 'analyzer' && d.obj.metadata.name === dataVolume.persistentVolumeClaim.claimName);
    assert.ok(claim, 'the claim is in manifests/analyzer');
    assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsUser, "fsGroup: the volume is writable by the analyzer's user");
    assert.equal(inc.storeUrl, undefined, 'SQLite in data_dir (PostgreSQL is the commented alternative)');
    assert.deepEqual(claim.obj.spec.accessModes, ['ReadWriteOnce']);
    assert.equal(dep.spec.replicas, 1, 'SQLite: one analyzer');
    assert.equal(dep.spec.strategy.type, 'Recreate', 'SQLite: the old pod closes the store before the new one opens it');
    // SQLite's temporary files need a writable directory; on a read-only root it looks in /tmp.
    const tmpMount = (container.volumeMounts as Obj[]).find((m) => m.mountPath === '/tmp');
    assert.ok(tmpMount && tmpMount.readOnly !== true && (pod.volumes as Obj[]).find((v) => v.name === tmpMount.name)?.emptyDir, 'a writable emptyDir at /tmp');
    // Retention is explicit and fits the volume: ~2.3 KB per stored alert (measured with realistic alerts), 80% of the claim.
    const retention = ((raw['store'] as Obj).retention ?? {}) as Obj;
    assert.deepEqual(Object.keys(retention).sort(), ['interval', 'max_age', 'max_alerts'], 'store.retention set explicitly');
    assert.ok(inc.retention.maxAlerts * 2300 <= 0.8 * bytesOf(claim.obj.spec.resources.requests.storage),
      `max_alerts ${inc.retention.maxAlerts} fits ${claim.obj.spec.resources.requests.storage}`);

    // The API: a token for the UI (read, write) and one for the agents (ingest only), from tiercel-api-tokens.
    assert.deepEqual(inc.tokens.map((t) => [t.name, [...t.scopes].sort()]), [['ui', ['read', 'write']], ['agents', ['ingest']]]);
    for (const t of (raw['api'] as Obj).tokens as Obj[]) {
      const ref = requireSecretEnv(container, t.token_env, `api token ${t.name}`);
      assert.deepEqual([ref.name, ref.key], ['tiercel-api-tokens', t.name], `token ${t.name}: key ${t.name} of the Secret tiercel-api-tokens`);
    }

    // README.md says how to create every Secret the pod needs.
    const readme = readFileSync(join(base, 'README.md'), 'utf8');
    for (const name of requiredSecrets(pod)) assert.match(readme, new RegExp(`create secret [a-z]+ ${name} `), `README.md creates the Secret ${name}`);
    assert.match(readme, /tiercel-api-tokens[^`]*openssl rand/s, 'the API tokens are random');

    const rules = loadRules([{ name: join(ROOT, 'rules', 'k8s_audit_rules.yaml') }, { name: join(base, 'rules', 'local_rules.yaml') }], createRegistry());
    assert.ok(rules.ok, JSON.stringify(rules.findings));
  });

  // ---- the node agent (manifests/agent) ----------------------------------

  const agentDaemonSet = (): Obj => {
    const ds = byKind('DaemonSet').find((d) => d.file === 'agent/daemonset.yaml');
    assert.ok(ds, 'agent/daemonset.yaml');
    return ds.obj;
  };

  it('DaemonSet: the agent\'s node options are the ones its benchmark measures', () => {
    const env = (agentDaemonSet().spec.template.spec.containers[0].env ?? []) as Obj[];
    const nodeOptions = env.find((e) => e.name === 'NODE_OPTIONS')?.value as string | undefined;
    const bench = readFileSync(join(ROOT, 'bench', 'sensor-overhead.ts'), 'utf8');
    const measured = /const DAEMONSET_NODE_OPTIONS = '([^']*)';/.exec(bench)?.[1];
    assert.ok(nodeOptions, 'the DaemonSet sets NODE_OPTIONS');
    assert.equal(measured, nodeOptions, 'bench/sensor-overhead.ts runs the agent with the DaemonSet\'s NODE_OPTIONS');
  });

  it('Deployment: the analyzer\'s node options are the ones its benchmark measures, and npm start\'s', () => {
    const dep = byKind('Deployment').find((d) => d.file === 'analyzer/deployment.yaml');
    assert.ok(dep, 'analyzer/deployment.yaml');
    const env = (dep.obj.spec.template.spec.containers[0].env ?? []) as Obj[];
    const nodeOptions = env.find((e) => e.name === 'NODE_OPTIONS')?.value as string | undefined;
    assert.ok(nodeOptions, 'the Deployment sets NODE_OPTIONS');
    const bench = readFileSync(join(ROOT, 'bench', 'webhook-throughput.ts'), 'utf8');
    assert.equal(/const DEPLOYMENT_NODE_OPTIONS = '([^']*)';/.exec(bench)?.[1], nodeOptions,
      'bench/webhook-throughput.ts runs the analyzer with the Deployment\'s NODE_OPTIONS');
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['start'];
    assert.equal(start, `node ${nodeOptions} bin/tiercel.js serve`, 'npm start runs the analyzer as deployed');
  });

  it('DaemonSet: the node agent with least privilege, on every node', () => {
    const ds = agentDaemonSet();
    assert.equal(ds.apiVersion, 'apps/v1');
    requireName({ file: 'agent/daemonset.yaml', obj: ds });
    assert.ok(subset(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels), 'the selector matches the template labels');
    const pod = ds.spec.template.spec as Obj;
    const account = byKind('ServiceAccount').find((d) => d.obj.metadata.name === pod.serviceAccountName && dirname(d.file) === 'agent');
    assert.ok(account, 'serviceAccountName exists');
    // The API token reads pods and nothing else: the agent watches the pods of its node (agent.kubernetes).
    assert.equal(pod.automountServiceAccountToken, true, 'an API token, to watch pods');
    const roles = [...byKind('ClusterRole'), ...byKind('Role')].filter((d) => dirname(d.file) === 'agent');
    assert.equal(roles.length, 1, 'one ClusterRole');
    assert.deepEqual(roles[0]!.obj.rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }], 'read-only, pods only');
    const binding = byKind('ClusterRoleBinding').find((d) => dirname(d.file) === 'agent')!.obj;
    assert.equal(binding.roleRef.name, roles[0]!.obj.metadata.name);
    assert.deepEqual(binding.subjects.map((x: Obj) => [x.kind, x.name]), [['ServiceAccount', pod.serviceAccountName]]);

    assert.equal(pod.hostPID, true, 'host pids: the kernel reports them, the /proc scan needs them');
    assert.notEqual(pod.hostNetwork, true, 'no host network');
    assert.notEqual(pod.hostIPC, true, 'no host IPC');
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.ok((pod.tolerations as Obj[]).some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined), 'tolerates every taint');
    assert.equal(pod.nodeSelector?.['kubernetes.io/arch'], 'amd64', 'the sensor is x86_64 only');

    assert.equal(pod.containers.length, 1);
    assert.equal(pod.initContainers, undefined);
    const c = pod.containers[0] as Obj;
    assert.equal(c.image, 'tiercel', 'the image name kustomize sets, as for the analyzer');
    const sc = c.securityContext as Obj;
    assert.notEqual(sc.privileged, true, 'not privileged');
    assert.equal(sc.privileged, false);
    assert.equal(sc.allowPrivilegeEscalation, false, 'no_new_privs');
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.runAsUser, 0, 'root: Kubernetes cannot grant ambient capabilities to a non-root process');
    assert.equal(sc.runAsNonRoot, false);
    assert.deepEqual(sc.capabilities.drop, ['ALL']);
    assert.deepEqual([...sc.capabilities.add].sort(), ['BPF', 'DAC_READ_SEARCH', 'PERFMON', 'SYS_PTRACE', 'SYS_RESOURCE'],
      'exactly the capabilities the sensor and the /proc scan need (README.md)');
    assert.equal(sc.seccompProfile?.type, 'Unconfined', 'RuntimeDefault profiles refuse bpf() without CAP_SYS_ADMIN');
    assert.equal(sc.appArmorProfile?.type, 'Unconfined', "the runtime's AppArmor profile hides host processes from ptrace reads");
    assert.equal(pod.securityContext?.seccompProfile, undefined, 'Unconfined for the agent container only, not the pod');

    // Volumes: the two ConfigMaps, five read-only host paths and the analyzer's CA, nothing else.
    const volumes = new Map((pod.volumes as Obj[]).map((v) => [v.name as string, v]));
    const hostPaths = [...volumes.values()].filter((v) => v.hostPath).map((v) => v.hostPath.path as string).sort();
    assert.deepEqual(hostPaths, ['/etc', '/proc', '/run/containerd', '/run/crio', '/sys/kernel/btf']);
    for (const v of volumes.values()) assert.ok(v.configMap?.name || v.hostPath || v.secret?.secretName, `volume ${v.name}: a ConfigMap, a host path or a Secret`);
    const secretVolumes = [...volumes.values()].filter((v) => v.secret);
    assert.equal(secretVolumes.length, 1, "one Secret volume: the analyzer's CA");
    assert.deepEqual(secretVolumes[0]!.secret.items, [{ key: 'ca.crt', path: 'ca.crt' }], 'only the CA is a file; the token stays out of the filesystem');
    const mounts = c.volumeMounts as Obj[];
    for (const m of mounts) {
      assert.ok(volumes.has(m.name), `mount ${m.name} has a volume`);
      assert.equal(m.readOnly, true, `${m.mountPath} is mounted read-only`);
    }
    const mountOf = (hostPath: string): string | undefined => mounts.find((m) => volumes.get(m.name)?.hostPath?.path === hostPath)?.mountPath;
    const env = new Map((c.env as Obj[]).map((e) => [e.name as string, e]));
    const hostRoot = env.get('HOST_ROOT')?.value as string;
    assert.equal(hostRoot, '/host');
    assert.equal(mountOf('/proc'), posix.join(hostRoot, 'proc'), 'the host /proc at HOST_ROOT/proc');
    assert.equal(mountOf('/etc'), posix.join(hostRoot, 'etc'), 'the host /etc at HOST_ROOT/etc');
    assert.equal(mountOf('/sys/kernel/btf'), '/sys/kernel/btf', 'BTF where libbpf and the loader look for it');
    // agent.cri: the runtimes' socket directories, where host_root puts the configured sockets.
    for (const dir of ['/run/containerd', '/run/crio']) assert.equal(mountOf(dir), posix.join(hostRoot, dir), `the host ${dir} at HOST_ROOT${dir}`);
    assert.equal(env.get('TIERCEL_HOSTNAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'alerts name the node');
    assert.equal(env.get('NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'the node whose pods are watched');

    // Probes on the named port; HTTP (the agent's web server has no TLS).
    const ports = new Map((c.ports as Obj[]).map((p) => [p.name as string, p]));
    for (const p of ports.keys()) assert.ok(p.length <= 15, 'port names are at most 15 characters');
    const probePath = (probe: Obj | undefined): string => {
      assert.ok(probe?.httpGet, 'an HTTP probe');
      assert.ok(ports.has(probe.httpGet.port), `probe port ${probe.httpGet.port} is a named port`);
      assert.equal(probe.httpGet.scheme, 'HTTP');
      return probe.httpGet.path;
    };
    assert.equal(probePath(c.readinessProbe), '/readyz');
    assert.equal(probePath(c.livenessProbe), '/healthz');
    assert.equal(probePath(c.startupProbe), '/healthz');
    assert.equal(ports.get(c.livenessProbe.httpGet.port)!.containerPort, 8765, "Falco's webserver port");

    // Memory: the rings are charged to the container (8 MiB per CPU by default) on top of ~150 MB.
    const mib = (q: string): number => {
      const m = /^(\d+)(Mi|Gi)$/.exec(q);
      assert.ok(m, `memory quantity ${q} in Mi or Gi`);
      return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
    };
    assert.ok(mib(c.resources.limits.memory) >= 150 + 8 * 64, 'the memory limit holds the rings of a 64-CPU node');
    assert.ok(mib(c.resources.requests.memory) >= 150 + 8 * 8, 'the request holds an 8-CPU node');
    assert.ok(c.resources.requests.cpu, 'a CPU request');
    assert.equal(c.resources.limits.cpu, undefined, 'no CPU limit: a throttled agent drops events');
  });

  it("the agent's namespace allows it (Pod Security privileged); the analyzer's stays restricted", () => {
    const kustomizations = byKind('Kustomization');
    const nsOf = (dir: string): Obj => {
      const k = kustomizations.find((d) => dirname(d.file) === dir)!.obj;
      const ns = byKind('Namespace').find((d) => dirname(d.file) === dir && d.obj.metadata.name === k.namespace);
      assert.ok(ns, `${dir}: the kustomization's namespace is defined`);
      return ns.obj;
    };
    assert.equal(nsOf('agent').metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged');
    assert.equal(nsOf('analyzer').metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    assert.notEqual(nsOf('agent').metadata.name, nsOf('analyzer').metadata.name);
    const quota = byKind('ResourceQuota').find((d) => dirname(d.file) === 'agent');
    assert.ok(quota, 'a quota admitting system-node-critical pods');
    const sel = quota.obj.spec.scopeSelector.matchExpressions[0];
    assert.deepEqual([sel.scopeName, sel.operator, sel.values], ['PriorityClass', 'In', [agentDaemonSet().spec.template.spec.priorityClassName]]);
  });

  it("the agent's tiercel.yaml is valid with the agent's defaults, listens where the probes look, and names files in the image or mounted", () => {
    const base = join(MANIFESTS, 'agent');
    const raw = parseConfigText(readFileSync(join(base, 'tiercel.yaml'), 'utf8'), 'tiercel.yaml');
    const container = agentDaemonSet().spec.template.spec.containers[0] as Obj;
    assert.equal(container.args[0], 'agent');
    const mounts = (container.volumeMounts as Obj[]).map((m) => m.mountPath as string);
    const configPath = container.args[container.args.indexOf('--config') + 1] as string;
    assert.ok(mounts.some((m) => configPath === `${m}/tiercel.yaml`), 'the --config file is the mounted ConfigMap');

    // The analyzer's CA is read while the config is validated: a stand-in file for the mounted one.
    const analyzerRaw = ((raw['agent'] as Obj | undefined)?.analyzer ?? {}) as Obj;
    const fake = mkdtempSync(join(tmpdir(), 'tiercel-agent-mounts-'));
    const fakeCa = join(fake, 'ca.crt');
    writeFileSync(fakeCa, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    const withFakeCa = analyzerRaw.ca_file === undefined ? raw
      : { ...raw, agent: { ...(raw['agent'] as Obj), analyzer: { ...analyzerRaw, ca_file: fakeCa } } };
    const literal = Object.fromEntries((container.env as Obj[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    const env = { ...literal, ...requiredSecretEnv(container) };
    const config = validateConfig(withFakeCa, { env, defaultRulesSource: 'syscall' });
    assert.deepEqual(config.warnings, []);
    const agent = config.agent;
    assert.ok(agent.listen, 'the web server is on');
    assert.equal(agent.listen.host, '0.0.0.0', 'every interface of the pod, for the kubelet and Prometheus');
    const port = (container.ports as Obj[]).find((p) => p.name === container.readinessProbe.httpGet.port)!;
    assert.equal(agent.listen.port, port.containerPort, 'the probes use the configured port');
    assert.equal(agent.hostRoot, '/host', 'host_root from HOST_ROOT');
    assert.equal(agent.captureFile, undefined, 'no capture file: the root filesystem is read-only');
    assert.equal(agent.metadataFile, undefined);
    assert.ok(agent.cri?.sockets.length, 'agent.cri is on');
    for (const sock of agent.cri.sockets) {
      assert.ok(mounts.some((m) => posix.join(agent.hostRoot, sock).startsWith(`${m}/`)), `CRI socket ${sock} is in a directory mounted under host_root`);
    }
    assert.equal(config.outputs.common.jsonOutput, true);
    assert.equal(config.outputs.stdout.enabled, true);

    // Rules files: in the image (/app is the package, as the Dockerfile lays it out) or the mounted ConfigMap.
    const dockerfile = readFileSync(join(base, 'Dockerfile'), 'utf8');
    const rulesMount = (container.volumeMounts as Obj[]).find((m) => m.name === 'rules')!.mountPath as string;
    for (const p of config.rulesFiles) {
      if (p.startsWith('/app/')) {
        const rel = p.slice('/app/'.length);
        assert.ok(existsSync(join(ROOT, rel)), `${p}: ${rel} exists in the package`);
        assert.match(dockerfile, new RegExp(`^COPY --from=build /app/${rel.split('/')[0]} `, 'm'), `${p}: the image has ${rel.split('/')[0]}/`);
      } else {
        assert.equal(p, rulesMount, `${p} is the mounted rules ConfigMap`);
      }
    }
    assert.ok(config.rulesFiles.includes('/app/rules/syscall_rules.yaml'), "Tiercel's syscall rules");
    const rules = loadRules([{ name: join(ROOT, 'rules', 'syscall_rules.yaml') }, { name: join(base, 'rules', 'local_rules.yaml') }], createRegistry());
    assert.ok(rules.ok, JSON.stringify(rules.findings));
  });

  it("the agent forwards its alerts to the analyzer's Service, with a token from a required Secret and the mounted CA", () => {
    const base = join(MANIFESTS, 'agent');
    const raw = parseConfigText(readFileSync(join(base, 'tiercel.yaml'), 'utf8'), 'tiercel.yaml');
    const pod = agentDaemonSet().spec.template.spec as Obj;
    const container = pod.containers[0] as Obj;
    const fwd = (raw['agent'] as Obj).analyzer as Obj;
    assert.ok(fwd?.url, 'agent.analyzer.url is set: the manifests deliver syscall alerts to the incident store');

    // The URL: https, the analyzer Service's DNS name across namespaces, its port, no path.
    const analyzerNs = byKind('Kustomization').find((d) => d.file === 'analyzer/kustomization.yaml')!.obj.namespace as string;
    const agentNs = byKind('Kustomization').find((d) => d.file === 'agent/kustomization.yaml')!.obj.namespace as string;
    assert.notEqual(analyzerNs, agentNs, 'different namespaces: a short Service name would not resolve');
    const service = byKind('Service').find((d) => d.file === 'analyzer/service.yaml')!.obj;
    const url = new URL(fwd.url);
    assert.equal(url.protocol, 'https:', 'the analyzer serves TLS only');
    const svcName = `${service.metadata.name}.${analyzerNs}.svc`;
    assert.ok(url.hostname === svcName || url.hostname === `${svcName}.cluster.local`, `${url.hostname} is the Service ${svcName}`);
    assert.equal(Number(url.port || 443), service.spec.ports[0].port, "the Service's port");
    assert.equal(service.spec.ports.length, 1);
    assert.equal(url.pathname, '/', 'the base URL (/api/v1/alerts is appended)');
    // The analyzer's certificate (manifests/analyzer/README.md) carries that name, so verification succeeds.
    const analyzerReadme = readFileSync(join(MANIFESTS, 'analyzer', 'README.md'), 'utf8');
    assert.ok(analyzerReadme.includes(`DNS:${url.hostname},`) || analyzerReadme.includes(`DNS:${url.hostname}\n`), `the certificate recipe has DNS:${url.hostname}`);

    // The token: a required Secret in the agent's namespace; the analyzer has a token with the ingest scope for it.
    const ref = requireSecretEnv(container, fwd.token_env, 'agent.analyzer.token_env');
    const analyzerRaw = parseConfigText(readFileSync(join(MANIFESTS, 'analyzer', 'tiercel.yaml'), 'utf8'), 'tiercel.yaml');
    const ingest = ((analyzerRaw['api'] as Obj).tokens as Obj[]).filter((t) => t.scopes.includes('ingest'));
    assert.deepEqual(ingest.map((t) => t.scopes), [['ingest']], 'the analyzer has one token for agents, with the ingest scope only');

    // The CA: a file of a read-only Secret (or ConfigMap) volume.
    assert.ok(fwd.ca_file, 'ca_file: the analyzer is verified against its own CA');
    const caMount = (container.volumeMounts as Obj[]).find((m) => posix.dirname(fwd.ca_file) === m.mountPath);
    assert.ok(caMount, `${fwd.ca_file} is in a mounted directory`);
    assert.equal(caMount.readOnly, true);
    const caVolume = (pod.volumes as Obj[]).find((v) => v.name === caMount.name)!;
    const source = caVolume.secret ?? caVolume.configMap;
    assert.ok(source, 'the CA comes from a Secret or a ConfigMap');
    assert.ok((source.items as Obj[]).some((i) => i.path === posix.basename(fwd.ca_file)), `${posix.basename(fwd.ca_file)} is an item of the volume`);
    assert.notEqual(source.optional, true, 'the CA is required');

    // Without the token the agent refuses to start (so optional: true would be a crash loop, not a quiet fallback).
    const fake = mkdtempSync(join(tmpdir(), 'tiercel-agent-ca-'));
    writeFileSync(join(fake, 'ca.crt'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    const withFakeCa = { ...raw, agent: { ...(raw['agent'] as Obj), analyzer: { ...fwd, ca_file: join(fake, 'ca.crt') } } };
    const literal = Object.fromEntries((container.env as Obj[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    const config = validateConfig(withFakeCa, { env: { ...literal, ...requiredSecretEnv(container) }, defaultRulesSource: 'syscall' });
    assert.equal(config.agent.analyzer?.url.href, url.href);
    assert.ok(config.agent.analyzer?.token && config.agent.analyzer.ca, 'a token and a CA');
    assert.throws(() => validateConfig(withFakeCa, { env: literal, defaultRulesSource: 'syscall' }), new RegExp(fwd.token_env));

    // The agent's README says how to create the Secret, with the analyzer's agents token and CA.
    const readme = readFileSync(join(base, 'README.md'), 'utf8');
    for (const name of requiredSecrets(pod)) assert.match(readme, new RegExp(`create secret [a-z]+ ${name} `), `README.md creates the Secret ${name}`);
    assert.equal(ref.name, caVolume.secret?.secretName ?? ref.name, 'one Secret holds the token and the CA');
    assert.match(readme, /tiercel-api-tokens/, "README.md takes the token from the analyzer's Secret");
  });

  it('the image build copies everything the package build runs on', () => {
    const dockerfile = readFileSync(join(MANIFESTS, 'agent', 'Dockerfile'), 'utf8');
    const buildStage = dockerfile.split(/^FROM /m)[1]!;
    const copied = new Set([...buildStage.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/)));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // npm ci runs install and prepare: every file or directory they name must be in the build context.
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
      for (const word of (pkg.scripts[script] ?? '').split(/\s+/)) {
        if (!/^[\w.-]+(\/[\w.-]+)+$|^[\w-]+\.(json|mjs|js|ts)$/.test(word)) continue;
        const top = word.split('/')[0]!;
        assert.ok(existsSync(join(ROOT, top)), `${word}: ${top} exists`);
        assert.ok(copied.has(top), `npm ci runs \`${pkg.scripts[script]}\` (${script}): the build stage copies ${top}`);
      }
    }
  });

  it('kubectl kustomize builds the agent (when kubectl is installed)', () => {
    let kubectl = true;
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    } catch {
      kubectl = false;
    }
    if (!kubectl) return; // the structural checks above stand alone
    const out = execFileSync('kubectl', ['kustomize', join(MANIFESTS, 'agent')], { encoding: 'utf8' });
    const built = parseAllDocuments(out);
    const objs = (Array.isArray(built) ? built : [built]).map((x) => x.toJS() as Obj);
    const ds = objs.find((o) => o.kind === 'DaemonSet')!;
    const cms = new Set(objs.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name));
    for (const v of ds.spec.template.spec.volumes) if (v.configMap) assert.ok(cms.has(v.configMap.name), v.configMap.name);
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
    for (const o of objs) if (!clusterScoped.has(o.kind)) assert.equal(o.metadata.namespace, 'tiercel-agent', `${o.kind} ${o.metadata.name}`);
    const binding = objs.find((o) => o.kind === 'ClusterRoleBinding')!;
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: ds.spec.template.spec.serviceAccountName, namespace: 'tiercel-agent' }]);
    assert.equal(ds.spec.template.spec.containers[0].image, 'tiercel:0.1.0');
  });
});

/**
 * Why SYS_PTRACE and DAC_READ_SEARCH: the /proc scan the agent seeds its state
 * with, run as root with the DaemonSet's capabilities and with each of the two
 * taken away, against a process of another user that holds a file open.
 */
describe("the DaemonSet's /proc capabilities, on this machine", () => {
  const isRoot = process.getuid?.() === 0;
  const hasSetpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
  const scan = join(ROOT, 'dist', 'syscall', 'state', 'proc-scan.js');
  const skip = !isRoot ? 'needs root (to run the scan with a chosen set of capabilities)'
    : !hasSetpriv ? 'setpriv (util-linux) is not installed'
      : !existsSync(scan) ? 'dist/ is not built (npm run build)' : false;

  interface Seen { exepath: string; marker: boolean; fds: string[] }

  /** What a scan with exactly these capabilities sees of process `pid`. */
  function scanWith(caps: readonly string[], pid: number): Seen {
    const script = `
      const { scanHostWithStats } = await import(${JSON.stringify(scan)});
      const { snapshot } = await scanHostWithStats({ hostRoot: '/' });
      const p = snapshot.processes.find((x) => x.pid === ${pid});
      process.stdout.write(JSON.stringify(p ? { exepath: p.exepath, marker: p.env.includes('TIERCEL_MARKER=1'), fds: p.fds.map((f) => f.name) } : null));`;
    const bounding = ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(',');
    const r = spawnSync('setpriv', [`--bounding-set=${bounding}`, '--inh-caps=-all', '--no-new-privs', process.execPath, '--input-type=module', '-e', script],
      { cwd: '/', encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as Seen | null;
    assert.ok(seen, `the scan lists process ${pid}`);
    return seen;
  }

  it('with the DaemonSet capabilities the scan sees another user\'s program, environment and open files; without SYS_PTRACE or DAC_READ_SEARCH it does not', { skip, timeout: 120_000 }, async () => {
    const ds = parse(readFileSync(join(MANIFESTS, 'agent', 'daemonset.yaml'), 'utf8')) as Obj;
    const caps = ds.spec.template.spec.containers[0].securityContext.capabilities.add as string[];
    const dir = mkdtempSync(join(tmpdir(), 'tiercel-capscan-'));
    const held = join(dir, 'held-open.txt');
    writeFileSync(held, 'x');
    const fd = openSync(held, 'r');
    // `sleep` as uid 1000 with the file as its fd 3 and a marker in its environment.
    const child = spawn('sleep', ['60'], { uid: 1000, gid: 1000, env: { TIERCEL_MARKER: '1', PATH: process.env.PATH }, stdio: ['ignore', 'ignore', 'ignore', fd] });
    closeSync(fd);
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const pid = child.pid!;

      const all = scanWith(caps, pid);
      assert.match(all.exepath, /\/sleep$/, 'exe');
      assert.equal(all.marker, true, 'environment');
      assert.ok(all.fds.includes(held), `open files: ${all.fds.join(', ')}`);

      const noPtrace = scanWith(caps.filter((c) => c !== 'SYS_PTRACE'), pid);
      assert.equal(noPtrace.exepath, '', 'without SYS_PTRACE: no exe');
      assert.ok(!noPtrace.fds.includes(held), 'without SYS_PTRACE: no open files');

      const noDac = scanWith(caps.filter((c) => c !== 'DAC_READ_SEARCH'), pid);
      assert.equal(noDac.marker, false, 'without DAC_READ_SEARCH: no environment of another uid');
      assert.ok(!noDac.fds.includes(held), 'without DAC_READ_SEARCH: no open files of another uid');
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
