import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {
  rootlessCommand,
  rootlessProblem,
  rootlessUnavailable,
  rootlessUser,
} from '../agent/executors/rootless-daemon.js';
import { tempDir } from './helpers/processes.js';

// What the dind executor needs of a node to run its daemons rootless (SLIPWAY_DIND_USERNS=rootless),
// read from files a test writes: /etc/passwd, /etc/subuid, /etc/subgid, the kernel's switches,
// and a PATH holding (or not) newuidmap, newgidmap and rootlesskit.

interface Node {
  passwd?: string;
  subuid?: string;
  subgid?: string;
  maxUserNamespaces?: string;
  unprivilegedUsernsClone?: string;
  apparmorRestrictUserns?: string;
}

async function node(t: Parameters<typeof tempDir>[0], n: Node) {
  const dir = await tempDir(t, 'slipway-rootless-units-');
  const files = {
    passwd: path.join(dir, 'passwd'),
    subuid: path.join(dir, 'subuid'),
    subgid: path.join(dir, 'subgid'),
    maxUserNamespaces: path.join(dir, 'max_user_namespaces'),
    unprivilegedUsernsClone: path.join(dir, 'unprivileged_userns_clone'),
    apparmorRestrictUserns: path.join(dir, 'apparmor_restrict_unprivileged_userns'),
  };
  for (const k of Object.keys(files) as (keyof Node)[]) if (n[k] !== undefined) await writeFile(files[k], n[k]!);
  return files;
}

/** A folder with the named tools in it (empty scripts), as a PATH. */
async function bin(t: Parameters<typeof tempDir>[0], tools: string[]): Promise<string> {
  const dir = await tempDir(t, 'slipway-rootless-bin-');
  for (const tool of tools) {
    await writeFile(path.join(dir, tool), '#!/bin/sh\n');
    await chmod(path.join(dir, tool), 0o755);
  }
  return dir;
}

const ROOT = { uid: 0, gid: 0 };
const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nbuilder:x:999:995::/nonexistent:/usr/sbin/nologin\n';
const RANGES = { subuid: 'builder:200000:65536\n', subgid: '999:300000:65536\n' };
const TOOLS = ['newuidmap', 'newgidmap', 'rootlesskit'];

test("the user's ids and ranges are read by name or by uid", async (t) => {
  const files = await node(t, { passwd: PASSWD, ...RANGES });
  t.deepEqual(await rootlessUser('builder', files, ROOT), {
    name: 'builder',
    uid: 999,
    gid: 995,
    subuid: { start: 200000, count: 65536 },
    subgid: { start: 300000, count: 65536 },
  });
});

test('an agent that is not root runs the daemons as itself, whatever user is named', async (t) => {
  const files = await node(t, { passwd: PASSWD, ...RANGES });
  const user = await rootlessUser('someone-else', files, { uid: 999, gid: 995 });
  t.like(user, { name: 'builder', uid: 999, gid: 995 });
});

test('a node with everything has nothing missing', async (t) => {
  const files = await node(t, {
    passwd: PASSWD,
    ...RANGES,
    maxUserNamespaces: '15000\n',
    unprivilegedUsernsClone: '1\n',
  });
  t.is(await rootlessProblem('builder', files, await bin(t, TOOLS), ROOT), undefined);
});

test('each thing a node may lack is named', async (t) => {
  const all = await bin(t, TOOLS);
  const cases: [Node, string, RegExp][] = [
    [{ passwd: PASSWD, ...RANGES, maxUserNamespaces: '0\n' }, all, /user namespaces are turned off in this kernel/],
    [{ passwd: PASSWD, ...RANGES, unprivilegedUsernsClone: '0\n' }, all, /keeps user namespaces to root/],
    [
      { passwd: PASSWD, ...RANGES, apparmorRestrictUserns: '1\n' },
      all,
      /AppArmor refuses unprivileged user namespaces/,
    ],
    [{ passwd: 'root:x:0:0::/root:/bin/sh\n', ...RANGES }, all, /there is no user builder in .*passwd/],
    [{ passwd: PASSWD, subgid: RANGES.subgid }, all, /the user builder has no range in .*subuid \(add "builder:/],
    [
      { passwd: PASSWD, subuid: RANGES.subuid, subgid: 'builder:1:0\n' },
      all,
      /the user builder has no range in .*subgid/,
    ],
    [{ passwd: PASSWD, ...RANGES }, await bin(t, ['newgidmap', 'rootlesskit']), /no newuidmap on the PATH .*uidmap/],
    [{ passwd: PASSWD, ...RANGES }, await bin(t, ['newuidmap', 'newgidmap']), /no rootlesskit on the PATH/],
  ];
  for (const [n, searchPath, wanted] of cases)
    t.regex((await rootlessProblem('builder', await node(t, n), searchPath, ROOT)) ?? '', wanted);
});

test('a user that is root is refused', async (t) => {
  const files = await node(t, { passwd: 'toor:x:0:0::/root:/bin/sh\n', subuid: 'toor:1:2\n', subgid: 'toor:1:2\n' });
  t.regex((await rootlessProblem('toor', files, await bin(t, TOOLS), ROOT)) ?? '', /the user toor is root/);
});

test('the error names the setting, its reason and the way back to remap', (t) => {
  const err = rootlessUnavailable('there is no rootlesskit on the PATH');
  t.is(err.reason, 'RootlessDaemonUnavailable');
  t.regex(err.message, /SLIPWAY_DIND_USERNS=rootless\): there is no rootlesskit .*SLIPWAY_DIND_USERNS=remap/);
});

test('rootlesskit shares the node network, copies up /etc and /run, and runs the given dockerd with its arguments', (t) => {
  const { command, args } = rootlessCommand('/tmp/d/sw-1', '/usr/sbin/dockerd', [
    '--host=unix:///tmp/d/sw-1/docker.sock',
  ]);
  t.is(command, 'rootlesskit');
  t.true(args.includes('--net=host'));
  t.true(args.includes('--copy-up=/run'));
  t.true(args.includes('--state-dir=/tmp/d/sw-1/rootlesskit'));
  t.deepEqual(args.slice(-2), ['/usr/sbin/dockerd', '--host=unix:///tmp/d/sw-1/docker.sock']);
});
