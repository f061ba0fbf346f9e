import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { remapRanges, remapUnavailable, usernsArgs, usernsRemapProblem } from '../agent/executors/userns-remap.js';
import { tempDir } from './helpers/processes.js';

// What the dind executor needs of a node to run builds in a user namespace, read from files a
// test writes (the node's /etc/passwd, /etc/subuid, /etc/subgid and the kernel's limit).

interface Node {
  passwd?: string;
  subuid?: string;
  subgid?: string;
  maxUserNamespaces?: string;
}

async function node(t: Parameters<typeof tempDir>[0], n: Node) {
  const dir = await tempDir(t, 'slipway-userns-units-');
  const files = {
    passwd: path.join(dir, 'passwd'),
    subuid: path.join(dir, 'subuid'),
    subgid: path.join(dir, 'subgid'),
    maxUserNamespaces: path.join(dir, 'max_user_namespaces'),
  };
  for (const k of Object.keys(files) as (keyof Node)[]) if (n[k] !== undefined) await writeFile(files[k], n[k]!);
  return files;
}

const ROOT = 'root:x:0:0:root:/root:/bin/bash\n';
const DOCKREMAP = 'dockremap:x:998:998::/home/dockremap:/bin/false\n';

test('remap adds --userns-remap=default; off adds nothing', (t) => {
  t.deepEqual(usernsArgs('remap'), ['--userns-remap=default']);
  t.deepEqual(usernsArgs('off'), []);
});

test("dockremap's ranges are read by name or by uid; other users' lines are skipped", async (t) => {
  const byName = await node(t, {
    passwd: ROOT + DOCKREMAP,
    subuid: 'alice:100000:65536\ndockremap:165536:65536\n',
    subgid: 'dockremap:231072:65536\n',
  });
  t.deepEqual(await remapRanges(byName), {
    uid: { start: 165536, count: 65536 },
    gid: { start: 231072, count: 65536 },
  });
  const byUid = await node(t, { passwd: ROOT + DOCKREMAP, subuid: '998:100000:65536\n', subgid: '998:100000:65536\n' });
  t.deepEqual((await remapRanges(byUid))?.uid, { start: 100000, count: 65536 });
});

test('a node with dockremap and both ranges has nothing missing', async (t) => {
  const files = await node(t, {
    passwd: ROOT + DOCKREMAP,
    subuid: 'dockremap:100000:65536\n',
    subgid: 'dockremap:100000:65536\n',
    maxUserNamespaces: '15000\n',
  });
  t.is(await usernsRemapProblem(files, ''), undefined);
});

test('a kernel without user namespaces is named', async (t) => {
  const files = await node(t, { passwd: ROOT + DOCKREMAP, maxUserNamespaces: '0\n' });
  t.regex((await usernsRemapProblem(files, '')) ?? '', /user namespaces are turned off in this kernel/);
});

test('dockremap without a gid range is named (dockerd does not repair it)', async (t) => {
  const files = await node(t, { passwd: ROOT + DOCKREMAP, subuid: 'dockremap:100000:65536\n', subgid: '' });
  t.regex((await usernsRemapProblem(files, '')) ?? '', /the user dockremap has no range in .*subuid or .*subgid/);
});

test('no dockremap: fine when useradd is on the PATH (dockerd makes the user), named when it is not', async (t) => {
  const files = await node(t, { passwd: ROOT, subuid: '', subgid: '' });
  const bin = await tempDir(t, 'slipway-userns-bin-');
  t.regex(
    (await usernsRemapProblem(files, bin)) ?? '',
    /there is no user dockremap with ranges .* and no useradd or adduser for dockerd to make them with/,
  );
  await mkdir(bin, { recursive: true });
  await writeFile(path.join(bin, 'useradd'), '#!/bin/sh\n');
  await chmod(path.join(bin, 'useradd'), 0o755);
  t.is(await usernsRemapProblem(files, bin), undefined);
});

test('the error names the setting and how to turn it off', (t) => {
  const err = remapUnavailable('user namespaces are turned off in this kernel');
  t.is(err.reason, 'UsernsRemapUnavailable');
  t.regex(err.message, /SLIPWAY_DIND_USERNS=remap\): user namespaces are turned off .*SLIPWAY_DIND_USERNS=off/);
});
