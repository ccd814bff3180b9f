import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { UserDatabase, parseGroup, parsePasswd } from '../../src/syscall/state/users.js';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A fake host root: `<root>/etc/{passwd,group}` and `<root>/proc/<pid>/root/etc/...`. */
function fakeRoot(): string {
  const r = mkdtempSync(join(tmpdir(), 'tiercel-users-'));
  roots.push(r);
  mkdirSync(join(r, 'etc'));
  return r;
}

function writeEtc(dir: string, passwd: string, group = ''): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'passwd'), passwd);
  writeFileSync(join(dir, 'group'), group);
}

function containerEtc(root: string, pid: number): string {
  return join(root, 'proc', String(pid), 'root', 'etc');
}

const HOST_PASSWD = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh\n';
const HOST_GROUP = 'root:x:0:\nalice:x:1000:\nwheel:x:10:root,alice\n';

describe('passwd and group parsing', () => {
  test('reads well-formed lines into entries', () => {
    assert.deepEqual(parsePasswd(HOST_PASSWD), [
      { uid: 0, gid: 0, name: 'root', homedir: '/root', shell: '/bin/bash' },
      { uid: 1000, gid: 1000, name: 'alice', homedir: '/home/alice', shell: '/bin/zsh' },
    ]);
    assert.deepEqual(parseGroup(HOST_GROUP), [
      { gid: 0, name: 'root' },
      { gid: 1000, name: 'alice' },
      { gid: 10, name: 'wheel' },
    ]);
  });

  test('skips comments, blank, NIS and malformed lines, and tolerates CRLF and a missing final newline', () => {
    const text = [
      '# comment',
      '',
      '   ',
      '+@netgroup::::::',
      '-baduser::::::',
      'short:x:1:1',
      'toolong:x:2:2:g:/h:/s:extra',
      ':x:3:3::/:/bin/sh',
      'neg:x:-1:0::/:/bin/sh',
      'hex:x:0x10:0::/:/bin/sh',
      'big:x:4294967296:0::/:/bin/sh',
      'max:x:4294967295:4294967295::/:/bin/sh',
      'crlf:x:5:5::/home/crlf:/bin/sh\r',
      'emptyshell:x:6:6:::',
      'last:x:7:7::/l:/bin/sh',
    ].join('\n');
    assert.deepEqual(
      parsePasswd(text).map((u) => [u.name, u.uid, u.homedir, u.shell]),
      [
        ['max', 4294967295, '/', '/bin/sh'],
        ['crlf', 5, '/home/crlf', '/bin/sh'],
        ['emptyshell', 6, '', ''],
        ['last', 7, '/l', '/bin/sh'],
      ],
    );
    assert.deepEqual(
      parseGroup('# c\nok:x:1\nmembers:x:2:a,b\nbad:x:z:\ntoo:x:3:a:b\n:x:4:\n').map((g) => g.name),
      ['ok', 'members'],
    );
  });

  test('stops at the entry bound', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `u${i}:x:${i}:0::/:/bin/sh`).join('\n');
    assert.equal(parsePasswd(many, 10).length, 10);
  });
});

describe('host users (live)', () => {
  test('resolves uids and gids from <hostRoot>/etc; unknown ids are undefined', () => {
    const root = fakeRoot();
    writeEtc(join(root, 'etc'), HOST_PASSWD, HOST_GROUP);
    const db = new UserDatabase({ hostRoot: root });
    assert.equal(db.live, true);
    assert.equal(db.user(1000)?.name, 'alice');
    assert.equal(db.user(1000, { id: 'host' })?.shell, '/bin/zsh');
    assert.equal(db.group(10)?.name, 'wheel');
    assert.equal(db.user(4242), undefined);
    assert.equal(db.group(4242), undefined);
  });

  test('the first entry of a duplicated uid wins, as with getpwuid', () => {
    const root = fakeRoot();
    writeEtc(join(root, 'etc'), 'root:x:0:0::/root:/bin/sh\ntoor:x:0:0::/root:/bin/csh\n');
    assert.equal(new UserDatabase({ hostRoot: root }).user(0)?.name, 'root');
  });

  test('re-reads a changed file, but checks at most once per refresh interval', () => {
    const root = fakeRoot();
    const etc = join(root, 'etc');
    writeEtc(etc, HOST_PASSWD, HOST_GROUP);
    let now = 1_000_000;
    const db = new UserDatabase({ hostRoot: root, refreshIntervalMs: 5000, now: () => now });
    assert.equal(db.user(1001), undefined);
    writeFileSync(join(etc, 'passwd'), `${HOST_PASSWD}bob:x:1001:1001::/home/bob:/bin/sh\n`);
    utimesSync(join(etc, 'passwd'), new Date(2_000_000_000_000), new Date(2_000_000_000_000));
    now += 1000;
    assert.equal(db.user(1001), undefined, 'not checked again before the interval');
    now += 5000;
    assert.equal(db.user(1001)?.name, 'bob');
  });

  test('a missing host file means no users, and is picked up once it appears', () => {
    const root = fakeRoot();
    let now = 0;
    const db = new UserDatabase({ hostRoot: root, refreshIntervalMs: 10, now: () => now });
    assert.equal(db.user(0), undefined);
    writeEtc(join(root, 'etc'), HOST_PASSWD, HOST_GROUP);
    now = 20;
    assert.equal(db.user(0)?.name, 'root');
  });

  test('reads at most maxFileBytes of a huge file, dropping the cut line', () => {
    const root = fakeRoot();
    const lines = Array.from({ length: 50_000 }, (_, i) => `user${i}:x:${i}:0::/home/user${i}:/bin/sh`);
    writeEtc(join(root, 'etc'), `${lines.join('\n')}\n`);
    const db = new UserDatabase({ hostRoot: root, maxFileBytes: 4096 });
    const users = db.snapshotHost().users;
    assert.ok(users.length > 50 && users.length < 200, `${users.length} users`);
    const last = users[users.length - 1]!;
    assert.equal(last.shell, '/bin/sh', 'the last kept line is complete');
    assert.equal(db.user(49_999), undefined);
  });

  test('snapshotHost returns what a capture header stores', () => {
    const root = fakeRoot();
    writeEtc(join(root, 'etc'), HOST_PASSWD, HOST_GROUP);
    const snap = new UserDatabase({ hostRoot: root }).snapshotHost();
    assert.deepEqual(snap.users.map((u) => u.name), ['root', 'alice']);
    assert.deepEqual(snap.groups.map((g) => g.name), ['root', 'alice', 'wheel']);
    assert.doesNotThrow(() => JSON.stringify(snap));
  });

  test('reads the real /etc/passwd of this machine', () => {
    const db = new UserDatabase();
    assert.equal(db.user(0)?.name, 'root');
  });
});

describe('container users (live)', () => {
  test('come from /proc/<rootPid>/root/etc, separately from the host', () => {
    const root = fakeRoot();
    writeEtc(join(root, 'etc'), HOST_PASSWD, HOST_GROUP);
    writeEtc(containerEtc(root, 4321), 'root:x:0:0:root:/root:/bin/ash\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n', 'nginx:x:101:\n');
    const db = new UserDatabase({ hostRoot: root });
    const c = { id: 'abcdef012345', rootPid: 4321 };
    assert.equal(db.user(101, c)?.name, 'nginx');
    assert.equal(db.user(0, c)?.shell, '/bin/ash');
    assert.equal(db.user(1000, c), undefined, 'host users are not container users');
    assert.equal(db.group(101, c)?.name, 'nginx');
    assert.equal(db.user(101), undefined, 'container users are not host users');
    // Known afterwards without a pid.
    assert.equal(db.user(101, { id: 'abcdef012345' })?.name, 'nginx');
  });

  test('an unknown container without a root pid has no users', () => {
    const db = new UserDatabase({ hostRoot: fakeRoot() });
    assert.equal(db.user(0, { id: 'abcdef012345' }), undefined);
  });

  test('a container without /etc/passwd (distroless) has no users', () => {
    const root = fakeRoot();
    mkdirSync(join(root, 'proc', '77', 'root'), { recursive: true });
    const db = new UserDatabase({ hostRoot: root });
    assert.equal(db.user(0, { id: 'c1', rootPid: 77 }), undefined);
  });

  test('keeps its accounts when its root process is gone, and follows a new root pid', () => {
    const root = fakeRoot();
    writeEtc(containerEtc(root, 10), 'app:x:500:500::/app:/bin/sh\n');
    let now = 0;
    const db = new UserDatabase({ hostRoot: root, refreshIntervalMs: 10, now: () => now });
    assert.equal(db.user(500, { id: 'c1', rootPid: 10 })?.name, 'app');
    rmSync(join(root, 'proc', '10'), { recursive: true });
    now = 100;
    assert.equal(db.user(500, { id: 'c1' })?.name, 'app', 'stale but still right');
    writeEtc(containerEtc(root, 11), 'app2:x:500:500::/app:/bin/sh\n');
    assert.equal(db.user(500, { id: 'c1', rootPid: 11 })?.name, 'app2');
  });

  test('are cached in a bounded LRU', () => {
    const root = fakeRoot();
    for (let pid = 1; pid <= 5; pid++) writeEtc(containerEtc(root, pid), `u${pid}:x:1:1::/:/bin/sh\n`);
    const db = new UserDatabase({ hostRoot: root, maxContainers: 3 });
    for (let pid = 1; pid <= 3; pid++) assert.equal(db.user(1, { id: `c${pid}`, rootPid: pid })?.name, `u${pid}`);
    db.user(1, { id: 'c1' }); // c1 becomes the most recent
    assert.equal(db.user(1, { id: 'c4', rootPid: 4 })?.name, 'u4'); // evicts c2
    assert.equal(db.cachedContainers, 3);
    assert.equal(db.user(1, { id: 'c2' }), undefined, 'c2 was evicted');
    assert.equal(db.user(1, { id: 'c1' })?.name, 'u1', 'c1 was kept');
    db.forgetContainer('c1');
    assert.equal(db.user(1, { id: 'c1' }), undefined);
  });

  test('a container cannot point its /etc/passwd at a host file through a symlink', () => {
    const root = fakeRoot();
    writeFileSync(join(root, 'secret'), 'leaked:x:0:0::/:/bin/sh\n');
    const etc = containerEtc(root, 20);
    mkdirSync(etc, { recursive: true });
    symlinkSync(join(root, 'secret'), join(etc, 'passwd'));
    const db = new UserDatabase({ hostRoot: root });
    assert.equal(db.user(0, { id: 'c1', rootPid: 20 }), undefined);
    // Nor its /etc directory.
    const croot = join(root, 'proc', '21', 'root');
    mkdirSync(join(root, 'elsewhere'), { recursive: true });
    writeFileSync(join(root, 'elsewhere', 'passwd'), 'leaked:x:0:0::/:/bin/sh\n');
    mkdirSync(croot, { recursive: true });
    symlinkSync(join(root, 'elsewhere'), join(croot, 'etc'));
    assert.equal(db.user(0, { id: 'c2', rootPid: 21 }), undefined);
  });

  test('a FIFO planted as /etc/passwd does not hang the lookup', () => {
    const root = fakeRoot();
    const etc = containerEtc(root, 30);
    mkdirSync(etc, { recursive: true });
    execFileSync('mkfifo', [join(etc, 'passwd')]);
    const db = new UserDatabase({ hostRoot: root });
    assert.equal(db.user(0, { id: 'c1', rootPid: 30 }), undefined);
  });
});

describe('capture mode', () => {
  test('uses only the snapshot and never reads files, even when they exist', () => {
    const root = fakeRoot();
    writeEtc(join(root, 'etc'), 'fromfile:x:0:0::/:/bin/sh\n', 'fromfile:x:0:\n');
    writeEtc(containerEtc(root, 5), 'fromfile:x:0:0::/:/bin/sh\n');
    const db = new UserDatabase({
      hostRoot: root,
      users: [{ uid: 0, gid: 0, name: 'root', homedir: '/root', shell: '/bin/bash' }],
      groups: [{ gid: 0, name: 'root' }],
    });
    assert.equal(db.live, false);
    assert.equal(db.user(0)?.name, 'root');
    assert.equal(db.group(0)?.name, 'root');
    assert.equal(db.user(0, { id: 'abcdef012345', rootPid: 5 }), undefined, 'containers not in the capture are unknown');
    assert.deepEqual(db.snapshotHost().users.map((u) => u.name), ['root']);
  });

  test('resolves container users the capture stored', () => {
    const db = new UserDatabase({
      users: [],
      groups: [],
      containers: { abcdef012345: { users: [{ uid: 101, gid: 101, name: 'nginx', homedir: '/', shell: '' }], groups: [] } },
    });
    assert.equal(db.user(101, { id: 'abcdef012345' })?.name, 'nginx');
    assert.deepEqual(db.snapshotContainer('abcdef012345')?.users.map((u) => u.name), ['nginx']);
    assert.equal(db.user(101), undefined);
  });

  test('snapshotContainer hands a live container\'s accounts to a capture writer', () => {
    const root = fakeRoot();
    writeEtc(containerEtc(root, 9), 'app:x:7:7::/:/bin/sh\n', 'app:x:7:\n');
    const db = new UserDatabase({ hostRoot: root });
    assert.equal(db.snapshotContainer('c9'), undefined);
    db.user(7, { id: 'c9', rootPid: 9 });
    const snap = db.snapshotContainer('c9');
    assert.deepEqual(snap, { users: [{ uid: 7, gid: 7, name: 'app', homedir: '/', shell: '/bin/sh' }], groups: [{ gid: 7, name: 'app' }] });
    // Round trip: a replay built from it resolves the same.
    const replay = new UserDatabase({ users: [], groups: [], containers: new Map([['c9', snap!]]) });
    assert.equal(replay.user(7, { id: 'c9' })?.name, 'app');
  });
});
