/**
 * Every file under manifests/ parses, and every object has the fields its
 * kind requires; the pieces fit together (selectors, named ports, volumes,
 * ConfigMap generators, the kubeconfig's references); the audit policy
 * records what the rules need and never a secret's body; the analyzer's
 * tiercel.yaml is a valid config whose paths are mounted; the local rules
 * load. With kubectl on the PATH, `kubectl kustomize` must build the
 * analyzer too.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
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
const NOT_OBJECTS = new Set(['analyzer/tiercel.yaml', 'analyzer/rules/local_rules.yaml']);

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
      for (const v of pod.volumes ?? []) {
        assert.ok(v.configMap?.name || v.secret?.secretName || v.emptyDir, `volume ${v.name} has a source`);
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
        for (const m of c.volumeMounts ?? []) assert.ok(volumes.has(m.name), `mount ${m.name} has a volume`);
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
      const mounted = byKind('Deployment').filter((x) => dirname(x.file) === dirname(d.file))
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
    const config = validateConfig({
      ...raw,
      webhook: { ...webhook, tls: { cert_file: swap(tls.cert_file), key_file: swap(tls.key_file), client_ca_file: swap(tls.client_ca_file) } },
    }, { env: {} });
    assert.deepEqual(config.warnings, []);
    assert.equal(config.webhook.listen.host, '', 'listens on every interface in the pod');
    for (const p of [...inContainer, ...config.rulesFiles]) {
      assert.ok(p.startsWith('/app/') || mounts.some((m) => p === m || p.startsWith(`${m}/`)), `${p} is in the image or mounted`);
    }
    const secretName = dep.spec.template.spec.volumes.find((v: Obj) => v.secret)?.secret.secretName;
    assert.equal(secretName, 'tiercel-webhook-tls');

    const rules = loadRules([{ name: join(ROOT, 'rules', 'k8s_audit_rules.yaml') }, { name: join(base, 'rules', 'local_rules.yaml') }], createRegistry());
    assert.ok(rules.ok, JSON.stringify(rules.findings));
  });
});
