/**
 * Synthesized syscall activity: builds a host snapshot and the records a
 * sequence of process actions would produce (spawn, exec, open, connect,
 * exit...), as the sensor would record them. Used for test fixtures and the
 * golden scenarios; real captures come from `tiercel capture`.
 *
 * Two ways in: the `Scenario` class (TypeScript), and `scenarioFromSpec`
 * for declarative JSON scenarios (test/golden/syscall/<case>/scenario.json).
 */
import { CaptureWriter, type CaptureHeader, type ContainerMetadataInput } from './capture.js';
import { CLONE_THREAD, O_CREAT, O_F_CREATED } from './flags.js';
import { type ParamInput, type RecordInput, type SockTupleInput, encodeRecord } from './record.js';
import { EXE_FLAGS } from './schema.js';
import type { FdSnapshot, GroupEntry, HostSnapshot, ProcessSnapshot, UserEntry } from './state/snapshot.js';
import { capabilityMask } from './fields/capabilities.js';

export const AT_FDCWD = -100;
const FULL_CAPS = (1n << 41n) - 1n;
const DEFAULT_CAPS = capabilityMask([
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP',
]);

export const DEFAULT_USERS: readonly UserEntry[] = [
  { uid: 0, gid: 0, name: 'root', homedir: '/root', shell: '/bin/bash' },
  { uid: 1, gid: 1, name: 'daemon', homedir: '/usr/sbin', shell: '/usr/sbin/nologin' },
  { uid: 33, gid: 33, name: 'www-data', homedir: '/var/www', shell: '/usr/sbin/nologin' },
  { uid: 65534, gid: 65534, name: 'nobody', homedir: '/nonexistent', shell: '/usr/sbin/nologin' },
  { uid: 1000, gid: 1000, name: 'alice', homedir: '/home/alice', shell: '/bin/bash' },
];
export const DEFAULT_GROUPS: readonly GroupEntry[] = [
  { gid: 0, name: 'root' }, { gid: 1, name: 'daemon' }, { gid: 33, name: 'www-data' },
  { gid: 65534, name: 'nogroup' }, { gid: 1000, name: 'alice' },
];

/** A container the scenario's processes can run in. */
export interface ContainerSpec {
  /** 64 hex characters (shorter ids are padded). */
  readonly id: string;
  readonly runtime?: 'containerd' | 'docker' | 'cri-o' | 'podman';
  readonly podUid?: string;
  readonly name?: string;
  readonly image?: string;
  readonly privileged?: boolean;
  readonly mounts?: ContainerMetadataInput['mounts'];
  readonly pod?: { name: string; namespace: string; labels?: Record<string, string> };
}

export interface ProcessSpec {
  readonly exe: string;
  readonly args?: readonly string[];
  readonly comm?: string;
  readonly exepath?: string;
  readonly env?: readonly string[];
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly loginuid?: number;
  readonly tty?: number;
  /** Name of a container from `container()`; the host when absent. */
  readonly container?: string;
  /** Extra execve flags (EXE_FLAGS): writable, overlay upper layer, memfd. */
  readonly exeFlags?: number;
  readonly capabilities?: 'default' | 'full' | readonly string[];
  /** Make this process its own session and group leader (a login shell, a daemon). */
  readonly leader?: boolean;
}

function pad64(id: string): string {
  return id.padEnd(64, '0').slice(0, 64);
}

function cgroupsFor(c: ContainerSpec | undefined): string[] {
  if (!c) return ['0::/system.slice/tiercel-scenario.service'];
  const id = pad64(c.id);
  const pod = (c.podUid ?? '00000000-0000-0000-0000-000000000000').replace(/-/g, '_');
  switch (c.runtime ?? 'containerd') {
    case 'docker': return [`0::/system.slice/docker-${id}.scope`];
    case 'cri-o': return [`0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${pod}.slice/crio-${id}.scope`];
    case 'podman': return [`0::/machine.slice/libpod-${id}.scope`];
    default: return [`0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${pod}.slice/cri-containerd-${id}.scope`];
  }
}

/** A process of the scenario: each method records one syscall it makes. */
export class SimProcess {
  nextFd = 3;
  readonly fds = new Map<number, string>();

  constructor(
    private readonly scenario: Scenario,
    readonly pid: number,
    public spec: ProcessSpec,
    public vpid: number,
  ) {}

  private emit(type: string, res: bigint | number, params: Record<string, ParamInput | undefined> = {}, tid = this.pid): void {
    this.scenario.emit({ ts: this.scenario.tick(), tid, tgid: this.pid, type, res, params });
  }

  /** fork + execve: a child running `spec`. */
  spawn(spec: ProcessSpec): SimProcess {
    const child = this.fork();
    child.exec(spec);
    return child;
  }

  /** fork(): a copy of this process. */
  fork(): SimProcess {
    const pid = this.scenario.allocPid();
    const vpid = this.spec.container ? this.scenario.allocVpid(this.spec.container) : pid;
    this.emit('clone', pid, { flags: 0x1200011n, vtid: vpid, vpid, cgroups: cgroupsFor(this.scenario.containerSpec(this.spec.container)) });
    const child = new SimProcess(this.scenario, pid, { ...this.spec }, vpid);
    for (const [fd, name] of this.fds) child.fds.set(fd, name);
    child.nextFd = this.nextFd;
    this.scenario.register(child, this.pid);
    return child;
  }

  /** A new thread (clone with CLONE_THREAD); returns its tid. */
  thread(): number {
    const tid = this.scenario.allocPid();
    this.emit('clone', tid, { flags: BigInt(CLONE_THREAD | 0x100 | 0x200 | 0x400 | 0x800), vtid: tid, vpid: this.vpid });
    return tid;
  }

  /** execve(): this process now runs `spec` (the container and ids carry over unless given). */
  exec(spec: ProcessSpec, opts: { fail?: number } = {}): this {
    // What the new program is comes from `spec`; who runs it and where carries over.
    const { comm: _c, exepath: _p, args: _a, exeFlags: _f, leader: _l, ...inherited } = this.spec;
    const merged: ProcessSpec = { ...inherited, ...spec, container: spec.container ?? this.spec.container };
    if (opts.fail) {
      this.emit('execve', -opts.fail, { filename: spec.exepath ?? spec.exe });
      return this;
    }
    this.spec = merged;
    const c = this.scenario.containerSpec(merged.container);
    const uid = merged.uid ?? 0;
    const gid = merged.gid ?? uid;
    const caps = merged.capabilities === 'full' || c?.privileged ? FULL_CAPS
      : Array.isArray(merged.capabilities) ? capabilityMask(merged.capabilities) : uid === 0 ? DEFAULT_CAPS : 0n;
    this.emit('execve', 0, {
      exe: merged.exe,
      args: merged.args ?? [],
      tid: this.pid,
      pid: this.pid,
      ptid: this.scenario.parentOf(this.pid),
      cwd: merged.cwd ?? '/',
      comm: (merged.comm ?? merged.exe.split('/').pop() ?? '').slice(0, 15),
      cgroups: cgroupsFor(c),
      env: merged.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      tty: merged.tty ?? 0,
      vpgid: merged.leader ? this.vpid : this.scenario.vpgidOf(this.pid),
      loginuid: merged.loginuid ?? 0xffffffff,
      flags: merged.exeFlags ?? 0,
      cap_inheritable: 0n,
      cap_permitted: caps,
      cap_effective: caps,
      exe_ino: 1000n + BigInt(this.pid),
      exe_ino_ctime: this.scenario.startTs - 86_400_000_000_000n,
      exe_ino_mtime: this.scenario.startTs - 86_400_000_000_000n,
      uid,
      trusted_exepath: merged.exepath ?? (merged.exe.startsWith('/') ? merged.exe : `/usr/bin/${merged.exe}`),
      pgid: merged.leader ? this.pid : this.scenario.pgidOf(this.pid),
      gid,
      filename: merged.exepath ?? merged.exe,
      vpid: this.vpid,
      vtid: this.vpid,
      sid: merged.leader ? this.pid : this.scenario.sidOf(this.pid),
      ruid: uid,
      rgid: gid,
    });
    if (merged.leader) this.scenario.makeLeader(this.pid);
    return this;
  }

  /** open(2)-family: `mode` r, w, rw; `create` adds O_CREAT (and marks the file created). */
  open(path: string, how: { mode?: 'r' | 'w' | 'rw'; create?: boolean; trunc?: boolean; perm?: number; flags?: number; fail?: number; dirfd?: number; syscall?: 'openat' | 'open' | 'openat2' } = {}): number {
    const acc = how.mode === 'w' ? 1 : how.mode === 'rw' ? 2 : 0;
    let flags = how.flags ?? acc;
    if (how.create) flags |= O_CREAT | (how.fail ? 0 : O_F_CREATED);
    if (how.trunc) flags |= 0o1000;
    const fd = how.fail ? -how.fail : this.nextFd++;
    const syscall = how.syscall ?? 'openat';
    const params: Record<string, ParamInput> = { name: path, flags: flags >>> 0, mode: how.perm ?? (how.create ? 0o644 : 0), dev: 0x803, ino: 4242n };
    if (syscall !== 'open') params.dirfd = how.dirfd ?? AT_FDCWD;
    this.emit(syscall, fd, params);
    if (fd >= 0) this.fds.set(fd, path);
    return fd;
  }

  close(fd: number): void {
    this.emit('close', 0, { fd });
    this.fds.delete(fd);
  }

  read(fd: number, data = 'data'): void {
    this.emit('read', data.length, { fd, size: data.length, data: Buffer.from(data) });
  }

  write(fd: number, data = 'data'): void {
    this.emit('write', data.length, { fd, size: data.length, data: Buffer.from(data) });
  }

  /** socket + connect to `ip:port`; returns the fd. `fail` is an errno (e.g. 111 ECONNREFUSED). */
  connect(ip: string, port: number, how: { proto?: 'tcp' | 'udp'; localPort?: number; fail?: number } = {}): number {
    const v6 = ip.includes(':');
    const fd = this.socket(v6 ? 10 : 2, how.proto === 'udp' ? 2 : 1);
    const local = v6 ? '::1' : '127.0.0.1';
    const tuple: SockTupleInput = { family: v6 ? 'inet6' : 'inet', sip: local, sport: how.localPort ?? 40000 + (fd % 1000), dip: ip, dport: port };
    this.emit('connect', how.fail ? -how.fail : 0, { fd, tuple, addr: { family: v6 ? 'inet6' : 'inet', ip, port } });
    return fd;
  }

  socket(domain = 2, type = 1): number {
    const fd = this.nextFd++;
    this.emit('socket', fd, { domain, type, proto: 0 });
    return fd;
  }

  /** bind + listen on a port, then accept one connection from `clientIp`; returns the accepted fd. */
  serve(port: number, clientIp = '127.0.0.1', clientPort = 50000): number {
    const lfd = this.socket();
    this.emit('bind', 0, { fd: lfd, addr: { family: 'inet', ip: '0.0.0.0', port } });
    this.emit('listen', 0, { fd: lfd, backlog: 128 });
    const fd = this.nextFd++;
    this.emit('accept4', fd, { fd, tuple: { family: 'inet', sip: clientIp, sport: clientPort, dip: '127.0.0.1', dport: port }, listen_fd: lfd, flags: 0 });
    return fd;
  }

  /** dup2(oldfd, newfd). */
  dup2(oldfd: number, newfd: number): void {
    this.emit('dup2', newfd, { oldfd, newfd });
    const name = this.fds.get(oldfd);
    if (name !== undefined) this.fds.set(newfd, name);
  }

  /** Any syscall with parameters by Falco name (unlinkat, renameat2, ptrace, mount, setuid...). */
  syscall(type: string, params: Record<string, ParamInput | undefined> = {}, res: bigint | number = 0): void {
    this.emit(type, res, params);
  }

  memfd(name: string): number {
    const fd = this.nextFd++;
    this.emit('memfd_create', fd, { name, flags: 1 });
    return fd;
  }

  chdir(path: string): void {
    this.emit('chdir', 0, { path });
    this.spec = { ...this.spec, cwd: path };
  }

  exit(status = 0): void {
    this.emit('procexit', 0, { status: BigInt(status), ret: BigInt(status), sig: 0, core: 0, reaper_tid: 1 });
    this.scenario.unregister(this.pid);
  }

  /**
   * The runtime starting a container (call it on the shim): a child in the
   * container's new pid namespace (vpid 1), which execs `spec` as the
   * container's first process, its own session leader.
   */
  startContainer(name: string, spec: ProcessSpec): SimProcess {
    const pid = this.scenario.allocPid();
    const c = this.scenario.containerSpec(name);
    const vpid = this.scenario.allocVpid(name);
    this.emit('clone', pid, { flags: 0x1200011n | 0x20000000n | 0x20000n, vtid: vpid, vpid, cgroups: cgroupsFor(c) });
    const child = new SimProcess(this.scenario, pid, { ...this.spec, container: name }, vpid);
    this.scenario.register(child, this.pid);
    child.exec({ ...spec, container: name, leader: true });
    return child;
  }
}

/** A scenario: a host, its containers, and what its processes do. */
export class Scenario {
  readonly startTs: bigint;
  private now: bigint;
  private nextPid = 1000;
  private readonly vpids = new Map<string, number>();
  private readonly procs = new Map<number, SimProcess>();
  private readonly parents = new Map<number, number>();
  private readonly sessions = new Map<number, { sid: number; pgid: number; vpgid: number }>();
  private readonly containers = new Map<string, ContainerSpec>();
  private readonly snapshot: ProcessSnapshot[] = [];
  private readonly records: Buffer[] = [];
  readonly hostname: string;

  constructor(options: { hostname?: string; startTs?: bigint } = {}) {
    this.hostname = options.hostname ?? 'node-1';
    this.startTs = options.startTs ?? 1_795_860_000_000_000_000n;
    this.now = this.startTs;
  }

  tick(stepNs = 1_000_000n): bigint {
    this.now += stepNs;
    return this.now;
  }

  /** Lets time pass (e.g. for rules about processes that have been running for a while). */
  sleep(ns: bigint): void {
    this.now += ns;
  }

  allocPid(): number {
    return this.nextPid++;
  }

  allocVpid(container: string): number {
    const n = (this.vpids.get(container) ?? 0) + 1;
    this.vpids.set(container, n);
    return n;
  }

  containerSpec(name: string | undefined): ContainerSpec | undefined {
    return name === undefined ? undefined : this.containers.get(name);
  }

  /** Declares a container (and its pod) that processes can run in. */
  container(name: string, spec: ContainerSpec): this {
    this.containers.set(name, spec);
    return this;
  }

  parentOf(pid: number): number {
    return this.parents.get(pid) ?? 1;
  }

  sidOf(pid: number): number {
    return this.sessions.get(pid)?.sid ?? this.sessions.get(this.parentOf(pid))?.sid ?? 1;
  }

  pgidOf(pid: number): number {
    return this.sessions.get(pid)?.pgid ?? this.sessions.get(this.parentOf(pid))?.pgid ?? 1;
  }

  vpgidOf(pid: number): number {
    return this.sessions.get(pid)?.vpgid ?? this.sessions.get(this.parentOf(pid))?.vpgid ?? 1;
  }

  makeLeader(pid: number): void {
    const p = this.procs.get(pid);
    this.sessions.set(pid, { sid: pid, pgid: pid, vpgid: p?.vpid ?? pid });
  }

  register(p: SimProcess, parentPid: number): void {
    this.procs.set(p.pid, p);
    this.parents.set(p.pid, parentPid);
    const inherited = this.sessions.get(parentPid);
    if (inherited) this.sessions.set(p.pid, inherited);
  }

  unregister(pid: number): void {
    this.procs.delete(pid);
  }

  emit(r: RecordInput): void {
    this.records.push(encodeRecord(r));
  }

  /**
   * A process that already runs when the capture starts (part of the
   * snapshot). `parent` defaults to pid 1.
   */
  existing(spec: ProcessSpec & { pid?: number; parent?: SimProcess | number; fds?: readonly FdSnapshot[] }): SimProcess {
    const pid = spec.pid ?? this.allocPid();
    const ppid = typeof spec.parent === 'number' ? spec.parent : spec.parent?.pid ?? (pid === 1 ? 0 : 1);
    const c = this.containerSpec(spec.container);
    const vpid = c ? this.allocVpid(spec.container!) : pid;
    const uid = spec.uid ?? 0;
    const gid = spec.gid ?? uid;
    const caps = spec.capabilities === 'full' || c?.privileged ? FULL_CAPS : uid === 0 ? DEFAULT_CAPS : 0n;
    const sid = spec.leader ? pid : this.sessions.get(ppid)?.sid ?? 1;
    const pgid = spec.leader ? pid : this.sessions.get(ppid)?.pgid ?? 1;
    this.snapshot.push({
      pid, ppid, comm: (spec.comm ?? spec.exe.split('/').pop() ?? '').slice(0, 15), exe: spec.exe,
      exepath: spec.exepath ?? spec.exe, args: spec.args ?? [], env: spec.env ?? [], cwd: spec.cwd ?? '/', uid, gid,
      euid: uid, egid: gid, loginuid: spec.loginuid ?? 0xffffffff, tty: spec.tty ?? 0, sid, pgid, vpid,
      vpgid: spec.leader ? vpid : vpid, cgroups: cgroupsFor(c), pidns: 4026531836, mntns: 4026531841,
      startTs: String(this.startTs - 3_600_000_000_000n), capPermitted: String(caps), capEffective: String(caps),
      capInheritable: '0', threads: [{ tid: pid, comm: (spec.comm ?? spec.exe.split('/').pop() ?? '').slice(0, 15), vtid: vpid }],
      fds: spec.fds ?? [
        { fd: 0, type: spec.tty ? 'file' : 'file', name: spec.tty ? '/dev/pts/0' : '/dev/null' },
        { fd: 1, type: 'file', name: spec.tty ? '/dev/pts/0' : '/dev/null' },
        { fd: 2, type: 'file', name: spec.tty ? '/dev/pts/0' : '/dev/null' },
      ],
    });
    const p = new SimProcess(this, pid, spec, vpid);
    this.procs.set(pid, p);
    this.parents.set(pid, ppid);
    if (spec.leader) this.sessions.set(pid, { sid, pgid, vpgid: vpid });
    else if (this.sessions.get(ppid)) this.sessions.set(pid, this.sessions.get(ppid)!);
    return p;
  }

  /** A typical Kubernetes node: init, the kubelet, containerd and a shim per container. */
  standardHost(): { init: SimProcess; containerd: SimProcess; kubelet: SimProcess } {
    const init = this.existing({ pid: 1, exe: '/sbin/init', comm: 'systemd', exepath: '/usr/lib/systemd/systemd', leader: true });
    const containerd = this.existing({ pid: 300, exe: '/usr/bin/containerd', parent: init, leader: true });
    const kubelet = this.existing({ pid: 400, exe: '/usr/bin/kubelet', parent: init, leader: true, args: ['--config=/var/lib/kubelet/config.yaml'] });
    return { init, containerd, kubelet };
  }

  /** A container's runtime shim and its first process (e.g. nginx), as already running. */
  runningContainer(name: string, main: ProcessSpec): { shim: SimProcess; main: SimProcess } {
    const shim = this.existing({ exe: '/usr/bin/containerd-shim-runc-v2', args: ['-namespace', 'k8s.io', '-id', name], leader: true });
    const mainProc = this.existing({ ...main, container: name, parent: shim, leader: true });
    return { shim, main: mainProc };
  }

  header(): CaptureHeader {
    const host: HostSnapshot = {
      hostname: this.hostname,
      kernel: '6.18.0-tiercel-synthetic',
      bootTime: String(this.startTs - 86_400_000_000_000n),
      takenAt: String(this.startTs),
      processes: this.snapshot,
      users: [...DEFAULT_USERS],
      groups: [...DEFAULT_GROUPS],
      containerUsers: Object.fromEntries([...this.containers.values()].map((c) => [
        pad64(c.id).slice(0, 12), { users: [...DEFAULT_USERS], groups: [...DEFAULT_GROUPS] },
      ])),
    };
    const containers: ContainerMetadataInput[] = [...this.containers.entries()].map(([name, c]) => {
      const image = c.image ?? 'docker.io/library/busybox:1.36';
      const m: ContainerMetadataInput = {
        id: pad64(c.id),
        name: c.name ?? name,
        image,
        type: c.runtime ?? 'containerd',
        privileged: c.privileged ?? false,
        ...(c.mounts ? { mounts: c.mounts } : {}),
        ...(c.pod ? { pod: { name: c.pod.name, namespace: c.pod.namespace, uid: c.podUid ?? '00000000-0000-0000-0000-000000000000', ...(c.pod.labels ? { labels: c.pod.labels } : {}) } } : {}),
      };
      return m;
    });
    return {
      format: 'tiercel-capture', version: 1, wireVersion: 1, arch: 'x86_64', writer: 'tiercel scenario builder',
      host, containers,
    };
  }

  /** The records, in order, as one buffer. */
  recordBytes(): Buffer {
    return Buffer.concat(this.records);
  }

  get recordCount(): number {
    return this.records.length;
  }

  async writeCapture(path: string): Promise<void> {
    const w = CaptureWriter.toFile(path, this.header());
    for (const r of this.records) await w.write(r);
    await w.close();
  }
}

export { EXE_FLAGS };
