import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Scenario } from '../../src/syscall/synth.js';
import { field, run, stateFor, table } from '../helpers/syscall.js';

describe('process state: fork, exec, exit', () => {
  it('creates children that inherit the parent, and exec replaces the program', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const sh = init.spawn({ exe: '/bin/bash', comm: 'bash', args: ['-l'], tty: 34816, leader: true, uid: 1000, cwd: '/home/alice' });
    const child = sh.fork();
    child.exec({ exe: 'ls', exepath: '/usr/bin/ls', args: ['-la'] });
    const rows = table(s, ['proc.pid', 'proc.ppid', 'proc.name', 'proc.exe', 'proc.exepath', 'proc.cmdline', 'proc.pname', 'proc.aname[2]', 'user.name', 'proc.cwd', 'proc.tty', 'proc.sid']);
    const execLs = rows.filter((r) => r.type === 'execve').at(-1)!;
    assert.equal(execLs['proc.pid'], child.pid);
    assert.equal(execLs['proc.ppid'], sh.pid);
    assert.equal(execLs['proc.name'], 'ls');
    assert.equal(execLs['proc.exe'], 'ls');
    assert.equal(execLs['proc.exepath'], '/usr/bin/ls');
    assert.equal(execLs['proc.cmdline'], 'ls -la');
    assert.equal(execLs['proc.pname'], 'bash');
    assert.equal(execLs['proc.aname[2]'], 'systemd');
    assert.equal(execLs['user.name'], 'alice', 'uid and cwd carry over exec');
    assert.equal(execLs['proc.cwd'], '/home/alice');
    assert.equal(execLs['proc.tty'], 34816);
    assert.equal(execLs['proc.sid'], sh.pid, 'the login shell leads the session');
    // The fork itself is the parent's event: its fields are the parent's.
    const clone = rows.filter((r) => r.type === 'clone').at(-1)!;
    assert.equal(clone['proc.name'], 'bash');
  });

  it('matches any ancestor with proc.aname without index', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const a = init.spawn({ exe: '/usr/sbin/sshd', comm: 'sshd', leader: true });
    const b = a.spawn({ exe: '/bin/bash', comm: 'bash' });
    const c = b.spawn({ exe: '/usr/bin/python3', comm: 'python3' });
    c.open('/tmp/x', { mode: 'w', create: true });
    const state = stateFor(s);
    let checked = false;
    run(s, (e) => {
      if (e.typeName !== 'openat') return;
      assert.deepEqual(field(e, 'proc.aname'), ['bash', 'sshd', 'systemd']);
      assert.equal(field(e, 'proc.aname[1]'), 'bash');
      assert.equal(field(e, 'proc.aname[0]'), 'python3');
      assert.equal(field(e, 'proc.aname[9]'), undefined);
      checked = true;
    }, state);
    assert.ok(checked);
  });

  it('reparents orphans to the reaper when a parent exits, and reaps exited processes after the grace period', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const parent = init.spawn({ exe: '/bin/sh', comm: 'sh', leader: true });
    const orphan = parent.spawn({ exe: '/usr/bin/sleep', comm: 'sleep', args: ['100'] });
    parent.exit();
    orphan.open('/etc/hostname');
    const rows = table(s, ['proc.pid', 'proc.ppid', 'proc.pname']);
    const last = rows.at(-1)!;
    assert.equal(last['proc.pid'], orphan.pid);
    assert.equal(last['proc.ppid'], 1);
    assert.equal(last['proc.pname'], 'systemd');

    const state = run(s, () => undefined);
    assert.ok(state.threads.process(parent.pid), 'exited process kept during the grace period');
    state.threads.reap(s.tick() + 10_000_000_000n);
    assert.equal(state.threads.process(parent.pid), undefined, 'reaped after it');
    assert.ok(state.threads.process(orphan.pid));
  });

  it('marks exited the idle processes that are gone although their exit record was dropped, and reaps them', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const shell = init.spawn({ exe: '/bin/sh', comm: 'sh', leader: true });
    const lost = shell.spawn({ exe: '/bin/true', comm: 'true' }); // its procexit never arrives
    const child = lost.spawn({ exe: '/usr/bin/sleep', comm: 'sleep', args: ['100'] });
    const busy = shell.spawn({ exe: '/usr/bin/cat', comm: 'cat' });
    busy.open('/etc/hostname');
    const state = run(s, () => undefined);
    const busyProc = state.threads.process(busy.pid)!;
    const idleSince = busyProc.lastSeen; // busy has an event at that time, the others only earlier
    const gone = new Set([lost.pid, busy.pid]); // `busy` is gone too, but not idle
    const alive = { has: (pid: number): boolean => !gone.has(pid) };
    const now = s.tick();
    assert.equal(state.threads.markVanished(idleSince, (pid) => alive.has(pid), now), 1);
    assert.equal(state.threads.stats.vanished, 1);
    const marked = state.threads.process(lost.pid)!;
    assert.equal(marked.exitedAt, now, 'kept for the grace period, as after a seen exit');
    assert.equal(state.threads.process(child.pid)!.ppid, 1, 'its children reparented');
    assert.ok(state.threads.process(busy.pid)!.exitedAt === undefined, 'a process with recent events is not checked');
    assert.equal(state.threads.markVanished(idleSince, (pid) => alive.has(pid), now), 0, 'marked once');
    state.threads.reap(now + 10_000_000_000n);
    assert.equal(state.threads.process(lost.pid), undefined, 'reaped after the grace period');
    assert.ok(state.threads.process(child.pid) && state.threads.process(shell.pid));
  });

  it('adds threads to their process and keeps a single process table entry', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const app = init.spawn({ exe: '/usr/bin/java', comm: 'java', leader: true });
    const tid = app.thread();
    app.syscall('prctl', { option: 15, arg2_str: 'GC Thread#0' }, 0);
    const state = run(s, () => undefined);
    const t = state.threads.thread(tid)!;
    assert.equal(t.proc.pid, app.pid);
    assert.equal(state.threads.process(app.pid)!.threads.size, 2);
  });

  it('creates a placeholder for threads never seen, without crashing', () => {
    const s = new Scenario();
    s.standardHost();
    s.emit({ ts: s.tick(), tid: 77777, tgid: 77777, type: 'openat', res: 3, params: { dirfd: -100, name: '/etc/passwd', flags: 0 } });
    const rows = table(s, ['proc.pid', 'proc.name', 'fd.name', 'user.name']);
    assert.deepEqual(rows.at(-1), { type: 'openat', 'proc.pid': 77777, 'proc.name': '', 'fd.name': '/etc/passwd', 'user.name': undefined });
  });
});

describe('fd state', () => {
  it('resolves relative paths against the cwd and against dirfd, and keeps the raw name', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const p = init.spawn({ exe: '/bin/sh', comm: 'sh', leader: true, cwd: '/var/lib' });
    p.open('../log/syslog');
    const dir = p.open('/etc', { flags: 0o200000 });
    p.open('ssh/sshd_config', { dirfd: dir });
    p.chdir('/tmp');
    p.open('./x/../y', { mode: 'w', create: true });
    const rows = table(s, ['fd.name', 'fd.nameraw', 'fd.directory', 'fd.filename', 'fd.typechar']).filter((r) => r.type === 'openat' || r.type === 'chdir');
    assert.deepEqual(rows.map((r) => r['fd.name']), ['/var/log/syslog', '/etc', '/etc/ssh/sshd_config', undefined, '/tmp/y']);
    assert.equal(rows[0]!['fd.nameraw'], '../log/syslog');
    assert.equal(rows[1]!['fd.typechar'], 'd');
    assert.equal(rows[2]!['fd.directory'], '/etc/ssh');
    assert.equal(rows[2]!['fd.filename'], 'sshd_config');
  });

  it('dup copies what an fd refers to; close forgets it after the close event', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const p = init.spawn({ exe: '/bin/sh', comm: 'sh', leader: true });
    const sock = p.connect('127.0.0.1', 4444);
    p.dup2(sock, 0);
    p.dup2(sock, 1);
    p.close(sock);
    p.read(0, 'id\n');
    p.read(sock);
    const rows = table(s, ['fd.num', 'fd.name', 'fd.type', 'fd.sip', 'fd.sport', 'proc.stdin.type']);
    const reads = rows.filter((r) => r.type === 'read');
    assert.equal(reads[0]!['fd.type'], 'ipv4', 'fd 0 is the socket after dup2');
    assert.equal(reads[0]!['fd.sip'], '127.0.0.1');
    assert.equal(reads[0]!['fd.sport'], 4444);
    assert.equal(reads[0]!['proc.stdin.type'], 'ipv4');
    assert.equal(reads[1]!['fd.name'], undefined, 'closed fd is gone');
    const close = rows.find((r) => r.type === 'close')!;
    assert.equal(close['fd.type'], 'ipv4', 'the close event still sees the fd');
  });

  it('gives sockets client/server and local/remote ends, for connect and accept', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const client = init.spawn({ exe: '/usr/bin/curl', comm: 'curl', leader: true });
    client.connect('127.0.0.9', 443, { localPort: 41000 });
    const server = init.spawn({ exe: '/usr/sbin/nginx', comm: 'nginx', leader: true });
    server.serve(8080, '127.0.0.7', 50001);
    const refs = ['fd.name', 'fd.cip', 'fd.sip', 'fd.lip', 'fd.rip', 'fd.cport', 'fd.sport', 'fd.lport', 'fd.rport', 'fd.l4proto', 'fd.is_server', 'fd.sockfamily'];
    const rows = table(s, refs);
    const connect = rows.find((r) => r.type === 'connect')!;
    assert.equal(connect['fd.name'], '127.0.0.1:41000->127.0.0.9:443');
    assert.equal(connect['fd.cip'], '127.0.0.1');
    assert.equal(connect['fd.sip'], '127.0.0.9');
    assert.equal(connect['fd.lport'], 41000);
    assert.equal(connect['fd.rport'], 443);
    assert.equal(connect['fd.is_server'], false);
    const accept = rows.find((r) => r.type === 'accept4')!;
    assert.equal(accept['fd.name'], '127.0.0.7:50001->127.0.0.1:8080');
    assert.equal(accept['fd.lport'], 8080);
    assert.equal(accept['fd.rip'], '127.0.0.7');
    assert.equal(accept['fd.is_server'], true);
    assert.equal(accept['fd.l4proto'], 'tcp');
    assert.equal(accept['fd.sockfamily'], 'ip');
  });

  it('shares the fd table between threads and copies it into forked children', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const p = init.spawn({ exe: '/bin/sh', comm: 'sh', leader: true });
    const fd = p.open('/etc/hosts');
    const child = p.fork();
    p.close(fd);
    child.read(fd);
    const rows = table(s, ['proc.pid', 'fd.name']);
    assert.equal(rows.at(-1)!['fd.name'], '/etc/hosts', 'the child still has its copy');
  });
});

describe('fields with Falco semantics', () => {
  it('renders arguments symbolically and resolves uids to names', () => {
    const s = new Scenario();
    const { init } = s.standardHost();
    const p = init.spawn({ exe: '/bin/sh', comm: 'sh', leader: true });
    p.open('/etc/passwd', { mode: 'w', create: true, trunc: true });
    p.syscall('ptrace', { request: 16, pid: 1 }, 0);
    p.syscall('setuid', { uid: 33 }, 0);
    p.syscall('chmod', { filename: 'run.sh', mode: 0o4755 }, 0);
    p.open('/nope', { fail: 2 });
    const rows = table(s, ['evt.arg.flags', 'evt.arg.request', 'evt.arg.uid', 'evt.arg.mode', 'evt.arg.filename', 'evt.res', 'evt.rawres', 'evt.failed', 'evt.is_open_write', 'fd.num', 'user.name', 'evt.arg[1]']);
    const open = rows.find((r) => r.type === 'openat')!;
    assert.equal(open['evt.arg.flags'], 'O_WRONLY|O_CREAT|O_TRUNC|O_F_CREATED');
    assert.equal(open['evt.is_open_write'], true);
    assert.equal(open['evt.res'], 'SUCCESS');
    assert.equal(open['evt.arg[1]'], '/etc/passwd');
    assert.equal(rows.find((r) => r.type === 'ptrace')!['evt.arg.request'], 'PTRACE_ATTACH');
    const setuid = rows.find((r) => r.type === 'setuid')!;
    assert.equal(setuid['evt.arg.uid'], 'www-data');
    const chmod = rows.find((r) => r.type === 'chmod')!;
    assert.equal(chmod['evt.arg.mode'], 'S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR|S_ISUID');
    assert.equal(chmod['evt.arg.filename'], '/run.sh', 'relative path resolved against the cwd');
    assert.equal(chmod['user.name'], 'www-data', 'setuid changed the user');
    const failed = rows.at(-1)!;
    assert.equal(failed['evt.res'], 'ENOENT');
    assert.equal(failed['evt.rawres'], -2);
    assert.equal(failed['evt.failed'], true);
    assert.equal(failed['fd.num'], -2);
  });

  it('puts processes in containers and pods from their cgroups and metadata', () => {
    const s = new Scenario();
    s.standardHost();
    s.container('web', { id: 'abcdef012345', image: 'docker.io/library/nginx:1.25', privileged: true,
      podUid: '0f6a1c2e-1111-2222-3333-444455556666', pod: { name: 'web-1', namespace: 'shop', labels: { app: 'web' } } });
    const { main } = s.runningContainer('web', { exe: '/usr/sbin/nginx', comm: 'nginx' });
    main.spawn({ exe: '/bin/sh', comm: 'sh', tty: 34817 });
    const rows = table(s, ['container.id', 'container.name', 'container.image', 'container.image.repository', 'container.image.tag', 'container.privileged', 'container.type', 'k8s.pod.name', 'k8s.ns.name', 'k8s.pod.uid', 'k8s.pod.label[app]', 'proc.vpid', 'user.name']);
    const exec = rows.filter((r) => r.type === 'execve').at(-1)!;
    assert.equal(exec['container.id'], 'abcdef012345');
    assert.equal(exec['container.name'], 'web');
    assert.equal(exec['container.image'], 'docker.io/library/nginx:1.25');
    assert.equal(exec['container.image.repository'], 'docker.io/library/nginx');
    assert.equal(exec['container.image.tag'], '1.25');
    assert.equal(exec['container.privileged'], true);
    assert.equal(exec['container.type'], 'containerd');
    assert.equal(exec['k8s.pod.name'], 'web-1');
    assert.equal(exec['k8s.ns.name'], 'shop');
    assert.equal(exec['k8s.pod.uid'], '0f6a1c2e-1111-2222-3333-444455556666');
    assert.equal(exec['k8s.pod.label[app]'], 'web');
    assert.notEqual(exec['proc.vpid'], undefined);
    assert.equal(exec['user.name'], 'root', 'container users resolve from the container accounts');
    const host = table(s, ['container.id', 'container.name']).find((r) => r.type === 'clone')!;
    assert.equal(host['container.id'], 'abcdef012345');
  });

  it('compares fd.ip/fd.net against either end, and != only when neither matches', async () => {
    const { compileCondition } = await import('../../src/engine/condition/compile.js');
    const { parseCondition } = await import('../../src/engine/condition/parser.js');
    const { createRegistry } = await import('../../src/sources.js');
    const registry = createRegistry();
    const s = new Scenario();
    const { init } = s.standardHost();
    const p = init.spawn({ exe: '/usr/bin/curl', comm: 'curl', leader: true });
    p.connect('127.0.0.9', 80);
    const check = (cond: string): boolean => {
      const { predicate } = compileCondition(parseCondition(cond), { registry, source: 'syscall' });
      let out = false;
      run(s, (e) => { if (e.typeName === 'connect') out = predicate(e); });
      return out;
    };
    assert.equal(check('fd.ip = 127.0.0.9'), true);
    assert.equal(check('fd.ip = 127.0.0.1'), true);
    assert.equal(check('fd.ip != 127.0.0.1'), false, 'one end is 127.0.0.1');
    assert.equal(check('fd.ip != 10.1.2.3'), true);
    assert.equal(check('fd.net != "127.0.0.0/8"'), false);
    assert.equal(check('fd.snet in (127.0.0.0/24)'), true);
    assert.equal(check('fd.port = 80'), true);
    assert.equal(check('evt.type = connect and fd.sip = "127.0.0.9"'), true);
    assert.throws(() => compileCondition(parseCondition('evt.type = nosuchcall'), { registry, source: 'syscall' }), /unknown event type nosuchcall/);
  });
});

describe('correlation keys', () => {
  it('tie a command run through kubectl exec to its container, pod, exec session and audit ID', async () => {
    const { syscallCorrelation } = await import('../../src/syscall/correlation.js');
    const s = new Scenario();
    s.standardHost();
    s.container('web', { id: 'abcdef012345', podUid: '0f6a1c2e-1111-2222-3333-444455556666', pod: { name: 'web-1', namespace: 'shop' } });
    const { shim, main } = s.runningContainer('web', { exe: '/usr/sbin/nginx', comm: 'nginx' });
    const exec = shim.spawn({ exe: '/bin/sh', comm: 'sh', tty: 34817, container: 'web', env: ['KUBERNETES_EXEC_AUDIT_ID=9b1c-audit', 'HOME=/root'] });
    const curl = exec.spawn({ exe: 'curl', exepath: '/usr/bin/curl', args: ['http://127.0.0.1/x'], env: ['HOME=/root'] });
    curl.open('/tmp/payload', { mode: 'w', create: true });
    main.open('/etc/nginx/nginx.conf');
    const keys: Record<string, string>[] = [];
    run(s, (e) => { if (e.typeName === 'openat') keys.push({ ...syscallCorrelation(e) }); });
    const [fromCurl, fromMain] = keys;
    assert.equal(fromCurl!.containerId, 'abcdef012345');
    assert.equal(fromCurl!.podUid, '0f6a1c2e-1111-2222-3333-444455556666');
    assert.equal(fromCurl!.auditId, '9b1c-audit', 'inherited from the exec session');
    assert.match(fromCurl!.execSession!, new RegExp(`^abcdef012345:${exec.pid}:`));
    assert.equal(fromMain!.execSession, undefined, "the container's own process is not an exec session");
    assert.equal(fromMain!.auditId, undefined);
  });
});
