import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import type { SlipwayClient } from '../cli/client.js';
import { run, tempDir } from './helpers/processes.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

/**
 * Lists that page: ListBuilds and ListBuildConfigs through gRPC, the Kubernetes API's limit and
 * continue through the real kubectl (1.32) and plain HTTP, and the CLI's --chunk-size. No agent
 * runs: the builds stay New, which is all a listing needs.
 */

const KUBECTL = '/usr/bin/kubectl';
const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/slipway.js');
const BUILDS_PATH = '/apis/build.slipway.dev/v1/namespaces/default/builds';

async function withBuilds(t: ExecutionContext, counts: Record<string, number>) {
  const sw = await startSlipway(t, { agents: 0, coordinator: { kubeApiListen: '127.0.0.1:0' } });
  for (const [config, n] of Object.entries(counts)) {
    await sw.client.createBuildConfig(dockerBuildConfig(config, 'git://127.0.0.1:1/none.git', 'localhost:1/none'));
    for (let i = 0; i < n; i++) await sw.client.startBuild({ namespace: 'default', configName: config });
  }
  return sw;
}

/** The gRPC status code and details a call failed with. */
async function failure(call: Promise<unknown>): Promise<{ code?: number; details?: string }> {
  try {
    await call;
    return {};
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
}

const INVALID_ARGUMENT = 3;

/** Every page of ListBuilds by hand, calling `between` after each page but the last. */
async function pages(
  client: SlipwayClient,
  req: { configName?: string; phase?: string; pageSize: number },
  between = async (_page: number) => {},
) {
  const names: string[][] = [];
  let pageToken = '';
  do {
    const page = await client.listBuildsPage({ namespace: 'default', ...req, pageToken });
    names.push(page.items.map((b) => b.metadata!.name!));
    pageToken = page.nextPageToken;
    if (pageToken) await between(names.length);
  } while (pageToken);
  return names;
}

test('ListBuilds pages in key order; builds created between pages are listed once or not at all', async (t) => {
  const sw = await withBuilds(t, { app: 11, other: 3 });
  const before = Array.from({ length: 11 }, (_, i) => `app-${i + 1}`).concat(['other-1', 'other-2', 'other-3']);
  await sw.client.createBuildConfig(dockerBuildConfig('aaa', 'git://127.0.0.1:1/none.git', 'localhost:1/none'));

  const listed = await pages(sw.client, { pageSize: 4 }, async (page) => {
    // One sorts before every page read (never listed), one after (listed on a later page).
    if (page === 1) await sw.client.startBuild({ namespace: 'default', configName: 'aaa' });
    if (page === 2) await sw.client.startBuild({ namespace: 'default', configName: 'other' });
  });
  t.deepEqual(
    listed.map((p) => p.length),
    [4, 4, 4, 3],
  );
  t.deepEqual(listed.flat(), [...before, 'other-4'], 'app-2 before app-10; each once; aaa-1 sorts before the cursor');
  t.deepEqual(
    (await sw.client.listBuilds({ namespace: 'default', pageSize: 3 })).map((b) => b.metadata!.name),
    ['aaa-1', ...before, 'other-4'],
    'the client pages through to the end',
  );
  const all = await sw.client.listBuildsPage({ namespace: 'default' });
  t.is(all.items.length, 16, 'the default page size holds them all');
  t.is(all.nextPageToken, '', 'and says the listing has ended');
});

test('ListBuilds pages through filters; ListBuildConfigs pages', async (t) => {
  const sw = await withBuilds(t, { app: 5, other: 4 });
  await sw.client.cancelBuild('default', 'app-2');
  await sw.client.cancelBuild('default', 'other-3');
  await sw.client.cancelBuild('default', 'other-4');
  t.deepEqual(await pages(sw.client, { configName: 'other', pageSize: 3 }), [
    ['other-1', 'other-2', 'other-3'],
    ['other-4'],
  ]);
  t.deepEqual(await pages(sw.client, { phase: 'Cancelled', pageSize: 2 }), [['app-2', 'other-3'], ['other-4']]);
  // A full page cannot know whether later keys match: the page after it may be empty, and last.
  t.deepEqual(await pages(sw.client, { configName: 'app', phase: 'Cancelled', pageSize: 1 }), [['app-2'], []]);
  // A deleted build's key stays in the stream (its delete marker): pages pass over it.
  const deleted = await fetch(`http://${sw.coordinators[0]!.kubeApi!.address}${BUILDS_PATH}/app-3`, {
    method: 'DELETE',
  });
  t.is(deleted.status, 200);
  t.deepEqual(await pages(sw.client, { pageSize: 3 }), [
    ['app-1', 'app-2', 'app-4'],
    ['app-5', 'other-1', 'other-2'],
    ['other-3', 'other-4'],
  ]);
  const first = await sw.client.listBuildConfigsPage({ namespace: 'default', pageSize: 1 });
  t.deepEqual(
    first.items.map((c) => c.metadata!.name),
    ['app'],
  );
  const second = await sw.client.listBuildConfigsPage({
    namespace: 'default',
    pageSize: 1,
    pageToken: first.nextPageToken,
  });
  t.deepEqual(
    second.items.map((c) => c.metadata!.name),
    ['other'],
  );
  t.is(second.nextPageToken, '');
});

test('a bad page size or page token is INVALID_ARGUMENT naming the field', async (t) => {
  const sw = await withBuilds(t, { app: 3 });
  for (const pageSize of [-1, 1001]) {
    const f = await failure(sw.client.listBuildsPage({ namespace: 'default', pageSize }));
    t.is(f.code, INVALID_ARGUMENT);
    t.regex(f.details ?? '', new RegExp(`pageSize: must be between 1 and 1000 .*got ${pageSize}`));
  }
  const garbage = await failure(sw.client.listBuildsPage({ namespace: 'default', pageToken: 'not-a-token' }));
  t.is(garbage.code, INVALID_ARGUMENT);
  t.regex(garbage.details ?? '', /pageToken: is not a page token this server gave/);

  const token = (await sw.client.listBuildsPage({ namespace: 'default', configName: 'app', pageSize: 1 }))
    .nextPageToken;
  t.truthy(token);
  const otherFilter = await failure(sw.client.listBuildsPage({ namespace: 'default', pageToken: token }));
  t.is(otherFilter.code, INVALID_ARGUMENT);
  t.regex(otherFilter.details ?? '', /pageToken: was given for another listing/);
  const otherKind = await failure(sw.client.listBuildConfigsPage({ namespace: 'default', pageToken: token }));
  t.is(otherKind.code, INVALID_ARGUMENT);
  t.regex(otherKind.details ?? '', /pageToken: was given for another listing \(of Builds/);
  const otherNamespace = await failure(
    sw.client.listBuildsPage({ namespace: 'elsewhere', configName: 'app', pageToken: token }),
  );
  t.is(otherNamespace.code, INVALID_ARGUMENT);
});

test('kubectl get --chunk-size pages with limit and continue; bad continue tokens are 400', async (t) => {
  const sw = await withBuilds(t, { app: 7 });
  const base = `http://${sw.coordinators[0]!.kubeApi!.address}`;
  const dir = await tempDir(t, 'slipway-kubectl-');
  const config = path.join(dir, 'kubeconfig');
  await writeFile(
    config,
    `apiVersion: v1
kind: Config
clusters: [{ name: slipway, cluster: { server: "${base}" } }]
users: [{ name: local, user: {} }]
contexts: [{ name: slipway, context: { cluster: slipway, user: local, namespace: default } }]
current-context: slipway
`,
  );
  const kubectl = (...args: string[]) =>
    new Promise<{ code: number; out: string; err: string }>((resolve, reject) => {
      const child = spawn(KUBECTL, args, { env: { ...process.env, KUBECONFIG: config, HOME: dir } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
    });

  const got = await kubectl('get', 'builds', '--chunk-size=3', '-v=6');
  t.is(got.code, 0, got.err);
  const names = [...got.out.matchAll(/^(app-\d+)\s+(?:New|Pending)/gm)].map((m) => m[1]);
  t.deepEqual(names, ['app-1', 'app-2', 'app-3', 'app-4', 'app-5', 'app-6', 'app-7'], got.out);
  // -v=6 logs each request: three pages, the later two with the continue token.
  const requests = [...got.err.matchAll(/GET (http\S+\/builds\?\S+) 200 OK/g)].map((m) => new URL(m[1]!));
  t.is(requests.length, 3, got.err);
  t.true(requests.every((u) => u.searchParams.get('limit') === '3'));
  t.deepEqual(
    requests.map((u) => Boolean(u.searchParams.get('continue'))),
    [false, true, true],
  );
  const asJson = JSON.parse((await kubectl('get', 'builds', '--chunk-size=2', '-o', 'json')).out);
  t.is(asJson.items.length, 7, 'kubectl -o json pages too');

  const list = async (query: string, accept?: string) => {
    const res = await fetch(`${base}${BUILDS_PATH}?${query}`, accept ? { headers: { Accept: accept } } : {});
    return { status: res.status, body: (await res.json()) as any };
  };
  const page = await list('limit=5');
  t.is(page.status, 200);
  t.deepEqual(
    page.body.items.map((b: any) => b.metadata.name),
    ['app-1', 'app-2', 'app-3', 'app-4', 'app-5'],
  );
  t.is(page.body.metadata.remainingItemCount, 2);
  t.truthy(page.body.metadata.resourceVersion);
  const rest = await list(`limit=5&continue=${encodeURIComponent(page.body.metadata.continue)}`);
  t.deepEqual(
    rest.body.items.map((b: any) => b.metadata.name),
    ['app-6', 'app-7'],
  );
  t.is(rest.body.metadata.continue, undefined, 'the last page has no continue');
  t.is(
    rest.body.metadata.resourceVersion,
    page.body.metadata.resourceVersion,
    "every page has the first page's version",
  );
  const table = await list('limit=4', 'application/json;as=Table;v=v1;g=meta.k8s.io');
  t.is(table.body.kind, 'Table');
  t.is(table.body.rows.length, 4);
  t.truthy(table.body.metadata.continue);

  const bad = await list('limit=2&continue=nonsense');
  t.is(bad.status, 400);
  t.like(bad.body, { kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });
  t.regex(bad.body.message, /continue key is not valid/);
  const configs = await fetch(
    `${base}/apis/build.slipway.dev/v1/namespaces/default/buildconfigs?limit=1&continue=${encodeURIComponent(page.body.metadata.continue)}`,
  );
  t.is(configs.status, 400, "a builds list's token on buildconfigs");
  const selected = await list(
    `limit=2&labelSelector=a%3Db&continue=${encodeURIComponent(page.body.metadata.continue)}`,
  );
  t.is(selected.status, 400, 'a token with other selectors');
});

test('the CLI lists every page', async (t) => {
  const sw = await withBuilds(t, { app: 5 });
  const out = await run(process.execPath, [
    BIN,
    '--server',
    sw.coordinators[0]!.address,
    'get',
    'builds',
    '--chunk-size',
    '2',
  ]);
  t.deepEqual(
    [...out.matchAll(/^(app-\d+)\s+(?:New|Pending)/gm)].map((m) => m[1]),
    ['app-1', 'app-2', 'app-3', 'app-4', 'app-5'],
    out,
  );
  const refused = await run(process.execPath, [
    BIN,
    '--server',
    sw.coordinators[0]!.address,
    'get',
    'builds',
    '--chunk-size',
    '5000',
  ]).catch((err: Error) => err.message);
  t.regex(refused, /pageSize: must be between 1 and 1000/);
});
