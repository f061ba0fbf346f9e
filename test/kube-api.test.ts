import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import test from 'ava';
import { parse as parseYaml } from 'yaml';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { run, spawnForTest, tempDir } from './helpers/processes.js';
import { registryDigest } from './helpers/registry.js';
import { startSlipway } from './helpers/slipway.js';
import type { Teardowns } from './helpers/teardowns.js';
import type { RequestAttributes, UserInfo } from '../coordinator/kube-api/server.js';
import { eventually } from './helpers/eventually.js';

/**
 * The Kubernetes API as a person and a controller use it: the real kubectl (1.32) against the
 * coordinator's API server, and watches read over plain HTTP.
 */

const KUBECTL = '/usr/bin/kubectl';
const GROUP_PATH = '/apis/build.slipway.dev/v1';

interface Kube {
  base: string;
  /** Runs kubectl against the coordinator; resolves with its exit code and output (stdout, then stderr as it came). */
  kubectl(...args: string[]): Promise<{ code: number; out: string }>;
  /** Starts a long-running kubectl (e.g. get -w), killed when the test ends. */
  spawn(...args: string[]): ReturnType<typeof spawnForTest>;
  dir: string;
}

async function kubeClient(t: Teardowns, address: string): Promise<Kube> {
  const dir = await tempDir(t, 'slipway-kubectl-');
  const config = path.join(dir, 'kubeconfig');
  await writeFile(
    config,
    `apiVersion: v1
kind: Config
clusters: [{ name: slipway, cluster: { server: "http://${address}" } }]
users: [{ name: local, user: {} }]
contexts: [{ name: slipway, context: { cluster: slipway, user: local, namespace: default } }]
current-context: slipway
`,
  );
  // HOME: kubectl keeps its discovery and OpenAPI caches there.
  const env = { ...process.env, KUBECONFIG: config, HOME: dir };
  return {
    base: `http://${address}`,
    dir,
    kubectl: (...args) =>
      new Promise((resolve, reject) => {
        const child = spawn(KUBECTL, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? -1, out }));
      }),
    spawn: (...args) => spawnForTest(t, KUBECTL, args, { env }),
  };
}

async function request(
  base: string,
  method: string,
  urlPath: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${urlPath}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': contentType },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

interface WatchEvent {
  type: string;
  object: any;
}

/** Reads a watch's events until `until` says enough (or the server ends it, or `timeoutMs`). */
function watch(
  base: string,
  urlPath: string,
  until: (events: WatchEvent[]) => boolean,
  timeoutMs = 10_000,
): Promise<WatchEvent[]> {
  return new Promise((resolve, reject) => {
    const events: WatchEvent[] = [];
    const req = http.get(`${base}${urlPath}`, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch answered ${res.statusCode}`));
        return;
      }
      let partial = '';
      res.on('data', (d: Buffer) => {
        partial += d.toString();
        const lines = partial.split('\n');
        partial = lines.pop()!;
        for (const l of lines) if (l.trim()) events.push(JSON.parse(l) as WatchEvent);
        if (until(events)) finish();
      });
      res.on('end', finish);
    });
    req.on('error', (err) => (events.length > 0 ? resolve(events) : reject(err)));
    const timer = setTimeout(finish, timeoutMs);
    function finish() {
      clearTimeout(timer);
      req.destroy();
      resolve(events);
    }
  });
}

const configYaml = (name: string, uri: string, image: string) => `apiVersion: build.slipway.dev/v1
kind: BuildConfig
metadata:
  name: ${name}
  labels: { team: kube }
spec:
  source:
    git: { uri: "${uri}", ref: main }
    contextDir: app
  strategy:
    docker: {}
  output:
    image: ${image}
`;

test.serial(
  'kubectl: apply a BuildConfig, start a build through instantiate, watch its phases, read it and its log, delete',
  async (t) => {
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { coordinator: { kubeApiListen: '127.0.0.1:0' } });
    const kube = await kubeClient(t, sw.coordinators[0]!.kubeApi!.address);
    const repo = await git.createRepo('kube-app', {
      'app/Dockerfile': `FROM ${env.baseImage}\nCOPY msg /msg\nRUN sleep 1\nCMD ["cat", "/msg"]\n`,
      'app/msg': 'from kubectl\n',
    });
    const repository = `test/kube-${randomBytes(4).toString('hex')}`;
    const file = path.join(kube.dir, 'buildconfig.yaml');

    await writeFile(file, configYaml('kube-app', repo.uri, `${env.registry}/${repository}:v1`));
    const created = await kube.kubectl('apply', '-f', file, '-v=6');
    t.is(created.code, 0, created.out);
    t.regex(created.out, /buildconfig\.build\.slipway\.dev\/kube-app created/);
    t.regex(created.out, /POST http:\/\/[^ ]+\/namespaces\/default\/buildconfigs\?.* 201 Created/);

    // A second apply with a change is a merge patch of the stored object, not a replacement.
    await writeFile(file, configYaml('kube-app', repo.uri, `${env.registry}/${repository}:v2`));
    const applied = await kube.kubectl('apply', '-f', file, '-v=6');
    t.is(applied.code, 0, applied.out);
    t.regex(applied.out, /buildconfig\.build\.slipway\.dev\/kube-app configured/);
    t.regex(applied.out, /PATCH http:\/\/[^ ]+\/namespaces\/default\/buildconfigs\/kube-app\?.* 200 OK/);
    t.notRegex(applied.out, /PUT http/);
    const config = parseYaml((await kube.kubectl('get', 'bc', 'kube-app', '-o', 'yaml')).out);
    t.is(config.spec.output.image, `${env.registry}/${repository}:v2`);
    t.is(config.metadata.generation, 2);
    t.is(config.metadata.labels.team, 'kube');
    t.truthy(config.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
    const bcTable = await kube.kubectl('get', 'buildconfigs');
    t.regex(bcTable.out, /^NAME\s+TYPE\s+FROM\s+LATEST\s+AGE\n/);
    t.regex(bcTable.out, /kube-app\s+Docker\s+Git@main\s+0\s+\d+s/);

    // Watch builds live, then start one.
    const watcher = kube.spawn('get', 'builds', '-w', '-v=6');
    const seenPhases = () => [...watcher.output().matchAll(/^kube-app-1\s+(\w+)/gm)].map((m) => m[1]);
    // Once kubectl has its list (-v=6 logs each answer), its watch goes on from that list's version: it sees every later change.
    await eventually('kubectl get -w to have its list', () => /GET http\S+\/builds\S* 200 OK/.test(watcher.output()), {
      detail: () => watcher.output(),
    });
    const request = path.join(kube.dir, 'request.json');
    await writeFile(
      request,
      JSON.stringify({ apiVersion: 'build.slipway.dev/v1', kind: 'BuildRequest', metadata: { name: 'kube-app' } }),
    );
    const started = await kube.kubectl(
      'create',
      '--raw',
      `${GROUP_PATH}/namespaces/default/buildconfigs/kube-app/instantiate`,
      '-f',
      request,
    );
    t.is(started.code, 0, started.out);
    const build = JSON.parse(started.out);
    t.like(build, { kind: 'Build', metadata: { name: 'kube-app-1', namespace: 'default' }, status: { phase: 'New' } });

    // The log, followed, ends when the build does.
    const log = await kube.kubectl(
      'get',
      '--raw',
      `${GROUP_PATH}/namespaces/default/builds/kube-app-1/log?follow=true`,
    );
    t.is(log.code, 0, log.out);
    t.regex(log.out, /Build complete: /);
    await eventually('the watch to show kube-app-1 Complete', () => seenPhases().includes('Complete'), {
      timeoutMs: 10_000,
      detail: () => watcher.output(),
    });
    const phases = seenPhases();
    t.deepEqual([...new Set(phases)], ['New', 'Pending', 'Running', 'Complete'], watcher.output());
    t.regex(watcher.output(), /^NAME\s+PHASE\s+CONFIG\s+NODE\s+DURATION\s+AGE\n/m);

    // The table kubectl get prints.
    const table = await kube.kubectl('get', 'builds');
    t.regex(table.out, /^NAME\s+PHASE\s+CONFIG\s+NODE\s+DURATION\s+AGE\n/);
    t.regex(table.out, /kube-app-1\s+Complete\s+kube-app\s+node-0\s+\d+s\s+\d+s\n/);

    const got = await kube.kubectl('get', 'bld', 'kube-app-1', '-o', 'yaml');
    const b = parseYaml(got.out);
    t.like(b, {
      apiVersion: 'build.slipway.dev/v1',
      kind: 'Build',
      spec: { configName: 'kube-app' },
      status: { phase: 'Complete', node: 'node-0' },
    });
    t.regex(b.metadata.resourceVersion, /^\d+$/);
    t.deepEqual(
      b.status.conditions.map((c: { type: string; status: string; reason: string }) => [c.type, c.status, c.reason]),
      [
        ['Running', 'False', 'Complete'],
        ['Succeeded', 'True', 'Complete'],
      ],
    );
    t.is(b.status.output.digest, await registryDigest(repository, 'v2'));
    // Why it started, where its time went and what happened to it.
    t.like(b.spec.triggeredBy, [{ type: 'Manual' }]);
    t.deepEqual(
      b.status.stages.map((s: { name: string }) => s.name),
      ['FetchInputs', 'PullImages', 'Build', 'PushImage'],
    );
    t.deepEqual(
      b.status.events.map((e: { reason: string }) => e.reason),
      ['Queued', 'Placed', 'Scheduled', 'Started', 'Pushed', 'Complete'],
    );
    const wide = await kube.kubectl('get', 'bld', 'kube-app-1', '-o', 'wide');
    t.regex(wide.out, /LONGEST STAGE/);
    t.regex(wide.out, /(FetchInputs|PullImages|Build|PushImage) \d+(\.\d)?s/);

    // Of a build, a client may change labels and annotations only.
    const labelled = await kube.kubectl('label', 'bld', 'kube-app-1', 'reviewed=yes', '-v=6');
    t.is(labelled.code, 0, labelled.out);
    t.regex(labelled.out, /PATCH http:\/\/[^ ]+\/builds\/kube-app-1(\?[^ ]*)? 200 OK/);
    t.regex((await kube.kubectl('get', 'bld', '-l', 'reviewed=yes')).out, /^kube-app-1\s+Complete/m);
    t.is((await kube.kubectl('get', 'bld', '-l', 'reviewed=no')).out, 'No resources found in default namespace.\n');
    const respec = await kube.kubectl(
      'patch',
      'bld',
      'kube-app-1',
      '--type',
      'merge',
      '-p',
      '{"spec":{"configName":"other"}}',
    );
    t.is(respec.code, 1);
    t.regex(respec.out, /spec: is immutable/);

    const deleted = await kube.kubectl('delete', 'bld', 'kube-app-1');
    t.is(deleted.code, 0, deleted.out);
    t.regex(deleted.out, /build\.build\.slipway\.dev "kube-app-1" deleted/);
    t.regex(
      (await kube.kubectl('delete', 'bc', 'kube-app')).out,
      /buildconfig\.build\.slipway\.dev "kube-app" deleted/,
    );
    const gone = await kube.kubectl('get', 'bld', 'kube-app-1');
    t.is(gone.code, 1);
    t.regex(gone.out, /Error from server \(NotFound\): builds\.build\.slipway\.dev "kube-app-1" not found/);
    t.deepEqual(await sw.client.listBuildConfigs('default'), []);
  },
);

const minimalConfig = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'build.slipway.dev/v1',
  kind: 'BuildConfig',
  metadata: { name },
  spec: {
    source: { dockerfile: 'FROM busybox\n' },
    strategy: { docker: {} },
    output: { image: 'registry.test/app:v1' },
    ...extra,
  },
});

test.serial(
  'a watch from a resourceVersion sends every later change once, in order; bookmarks; 410 once history is gone',
  async (t) => {
    const sw = await startSlipway(t, {
      agents: 0,
      coordinator: { kubeApiListen: '127.0.0.1:0' },
      kubeApi: { bookmarkIntervalMs: 300 },
    });
    const base = `http://${sw.coordinators[0]!.kubeApi!.address}`;
    const bcs = `${GROUP_PATH}/namespaces/default/buildconfigs`;
    t.is((await request(base, 'POST', bcs, minimalConfig('alpha'))).status, 201);
    // Another namespace's changes are not this watch's, but they do move the revision.
    t.is(
      (await request(base, 'POST', `${GROUP_PATH}/namespaces/other/buildconfigs`, minimalConfig('elsewhere'))).status,
      201,
    );
    const list = await request(base, 'GET', bcs);
    t.deepEqual(
      list.body.items.map((i: any) => i.metadata.name),
      ['alpha'],
    );
    const listed = Number(list.body.metadata.resourceVersion);

    // Changes after the list: create, patch, a build started (bumps lastVersion), delete, and
    // one in another namespace.
    const made: [string, string, string][] = [];
    const beta = await request(base, 'POST', bcs, minimalConfig('beta'));
    made.push(['ADDED', 'beta', beta.body.metadata.resourceVersion]);
    const patched = await request(
      base,
      'PATCH',
      `${bcs}/alpha`,
      { spec: { retries: 2 } },
      'application/merge-patch+json',
    );
    t.is(patched.status, 200);
    made.push(['MODIFIED', 'alpha', patched.body.metadata.resourceVersion]);
    const started = await request(base, 'POST', `${bcs}/alpha/instantiate`, {
      kind: 'BuildRequest',
      apiVersion: 'build.slipway.dev/v1',
    });
    t.is(started.status, 201);
    const alphaNow = await request(base, 'GET', `${bcs}/alpha`);
    t.is(alphaNow.body.status.lastVersion, 1);
    made.push(['MODIFIED', 'alpha', alphaNow.body.metadata.resourceVersion]);
    t.is(
      (await request(base, 'POST', `${GROUP_PATH}/namespaces/other/buildconfigs`, minimalConfig('elsewhere-2'))).status,
      201,
    );
    const deleted = await request(base, 'DELETE', `${bcs}/beta`);
    t.is(deleted.status, 200);
    const afterDelete = await request(base, 'GET', bcs);
    made.push(['DELETED', 'beta', afterDelete.body.metadata.resourceVersion]);

    const events = await watch(
      base,
      `${bcs}?watch=true&resourceVersion=${listed}`,
      (e) => e.length >= made.length,
      5000,
    );
    t.deepEqual(
      events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]),
      made,
    );
    // Resuming from the middle: exactly the rest, nothing repeated.
    const rest = await watch(base, `${bcs}?watch=true&resourceVersion=${made[1]![2]}`, (e) => e.length >= 2, 2000);
    t.deepEqual(
      rest.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]),
      made.slice(2),
    );
    // Caught up: nothing more comes, except bookmarks at the latest revision.
    const latest = afterDelete.body.metadata.resourceVersion;
    const quiet = await watch(
      base,
      `${bcs}?watch=true&allowWatchBookmarks=true&resourceVersion=${latest}`,
      (e) => e.length >= 2,
      3000,
    );
    t.deepEqual(
      quiet.map((e) => [e.type, e.object.metadata.resourceVersion]),
      [
        ['BOOKMARK', latest],
        ['BOOKMARK', latest],
      ],
    );
    // A watch without a version starts with the state as ADDED events.
    const fresh = await watch(base, `${bcs}?watch=true`, (e) => e.length >= 1, 2000);
    t.deepEqual(
      fresh.map((e) => [e.type, e.object.metadata.name]),
      [['ADDED', 'alpha']],
    );

    // The store keeps five revisions per key: after six more writes to alpha, the oldest change
    // after `listed` is gone, and a watch from there answers 410 Expired instead of skipping it.
    let rv = alphaNow.body.metadata.resourceVersion;
    for (let i = 0; i < 6; i++) {
      const r = await request(
        base,
        'PATCH',
        `${bcs}/alpha`,
        { metadata: { resourceVersion: rv }, spec: { retries: i } },
        'application/merge-patch+json',
      );
      t.is(r.status, 200);
      rv = r.body.metadata.resourceVersion;
    }
    const expired = await watch(
      base,
      `${bcs}?watch=true&resourceVersion=${listed}`,
      (e) => e.some((x) => x.type === 'ERROR'),
      5000,
    );
    const error = expired.at(-1)!;
    t.is(error.type, 'ERROR');
    t.like(error.object, { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 });
    t.false(
      expired.some(
        (e) =>
          e.type !== 'ERROR' &&
          e.object.metadata.name === 'alpha' &&
          Number(e.object.metadata.resourceVersion) < Number(made[1]![2]),
      ),
      'nothing from before the hole is made up',
    );
    // From a version whose later history is all kept, the watch works: the last patch.
    const recent = await watch(base, `${bcs}?watch=true&resourceVersion=${Number(rv) - 1}`, (e) => e.length >= 1, 2000);
    t.deepEqual(
      recent.map((e) => [e.type, e.object.metadata.resourceVersion]),
      [['MODIFIED', rv]],
    );
    // A version from the future is refused.
    t.like((await request(base, 'GET', `${bcs}?watch=true&resourceVersion=${Number(rv) + 1000}`)).body, {
      code: 504,
      reason: 'Timeout',
    });
  },
);

test.serial(
  'errors are Kubernetes Status objects: NotFound, AlreadyExists, Conflict on a stale resourceVersion, Invalid with causes',
  async (t) => {
    const sw = await startSlipway(t, { agents: 0, coordinator: { kubeApiListen: '127.0.0.1:0' } });
    const kube = await kubeClient(t, sw.coordinators[0]!.kubeApi!.address);
    const bcs = `${GROUP_PATH}/namespaces/default/buildconfigs`;

    const missing = await request(kube.base, 'GET', `${bcs}/nope`);
    t.is(missing.status, 404);
    t.deepEqual(missing.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'buildconfigs.build.slipway.dev "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'build.slipway.dev', kind: 'buildconfigs' },
      code: 404,
    });
    t.like((await request(kube.base, 'GET', `${GROUP_PATH}/namespaces/default/builds/nope-1`)).body, {
      code: 404,
      reason: 'NotFound',
      details: { kind: 'builds' },
    });

    const first = await request(kube.base, 'POST', bcs, minimalConfig('app'));
    t.is(first.status, 201);
    const again = await request(kube.base, 'POST', bcs, minimalConfig('app'));
    t.is(again.status, 409);
    t.like(again.body, {
      reason: 'AlreadyExists',
      code: 409,
      message: 'buildconfigs.build.slipway.dev "app" already exists',
    });

    // An update naming the version it read wins once; the second writer with the same version loses.
    const read = first.body;
    const update1 = await request(kube.base, 'PUT', `${bcs}/app`, { ...read, spec: { ...read.spec, retries: 1 } });
    t.is(update1.status, 200);
    t.not(update1.body.metadata.resourceVersion, read.metadata.resourceVersion);
    const stale = await request(kube.base, 'PUT', `${bcs}/app`, { ...read, spec: { ...read.spec, retries: 2 } });
    t.is(stale.status, 409);
    t.like(stale.body, { reason: 'Conflict', code: 409, details: { name: 'app', kind: 'buildconfigs' } });
    t.regex(stale.body.message, /the object has been modified/);
    const stalePatch = await request(
      kube.base,
      'PATCH',
      `${bcs}/app`,
      { metadata: { resourceVersion: read.metadata.resourceVersion }, spec: { retries: 3 } },
      'application/merge-patch+json',
    );
    t.like(stalePatch.body, { reason: 'Conflict', code: 409 });
    const staleDelete = await request(kube.base, 'DELETE', `${bcs}/app`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      preconditions: { resourceVersion: read.metadata.resourceVersion },
    });
    t.like(staleDelete.body, { reason: 'Conflict', code: 409 });

    const invalid = await request(
      kube.base,
      'POST',
      bcs,
      minimalConfig('Bad_Name', { retries: 99, output: { image: 'registry.test/app@sha256:' + 'a'.repeat(64) } }),
    );
    t.is(invalid.status, 422);
    t.like(invalid.body, {
      kind: 'Status',
      reason: 'Invalid',
      code: 422,
      details: { name: 'Bad_Name', group: 'build.slipway.dev', kind: 'BuildConfig' },
    });
    t.deepEqual(invalid.body.details.causes.map((c: { field: string }) => c.field).sort(), [
      'metadata.name',
      'spec.output.image',
      'spec.retries',
    ]);
    const unknownField = await request(
      kube.base,
      'PATCH',
      `${bcs}/app`,
      { spec: { output: { tag: 'x' } } },
      'application/merge-patch+json',
    );
    t.like(unknownField.body, { reason: 'Invalid', code: 422 });
    t.deepEqual(unknownField.body.details.causes, [
      { field: 'spec.output.tag', reason: 'FieldValueNotSupported', message: 'unknown field' },
    ]);
    t.like(
      (await request(kube.base, 'PATCH', `${bcs}/app`, { spec: {} }, 'application/strategic-merge-patch+json')).body,
      { reason: 'UnsupportedMediaType', code: 415 },
    );
    t.like((await request(kube.base, 'POST', `${bcs}/nope/instantiate`, {})).body, { reason: 'NotFound', code: 404 });
    const badRef = await request(kube.base, 'POST', `${bcs}/app/instantiate`, { ref: 'bad..ref' });
    t.like(badRef.body, { reason: 'Invalid', code: 422 });
    t.deepEqual(
      badRef.body.details.causes.map((c: { field: string }) => c.field),
      ['ref'],
    );

    // A build that has not run yet is cancelled and deleted; its name is not given again, even
    // when its config is deleted and made again.
    t.like((await request(kube.base, 'POST', `${bcs}/app/instantiate`)).body, { metadata: { name: 'app-1' } });
    const deletedBuild = await request(kube.base, 'DELETE', `${GROUP_PATH}/namespaces/default/builds/app-1`);
    t.like(deletedBuild.body, { kind: 'Status', status: 'Success', details: { name: 'app-1', kind: 'builds' } });
    t.is((await request(kube.base, 'GET', `${GROUP_PATH}/namespaces/default/builds/app-1`)).status, 404);
    t.is((await request(kube.base, 'DELETE', `${bcs}/app`)).status, 200);
    t.is((await request(kube.base, 'POST', bcs, minimalConfig('app'))).status, 201);
    t.like((await request(kube.base, 'POST', `${bcs}/app/instantiate`)).body, {
      metadata: { name: 'app-2' },
      spec: { configName: 'app' },
    });

    // kubectl shows them as the apiserver's.
    const notFound = await kube.kubectl('get', 'bc', 'nope');
    t.is(notFound.code, 1);
    t.regex(notFound.out, /Error from server \(NotFound\): buildconfigs\.build\.slipway\.dev "nope" not found/);
    const bad = path.join(kube.dir, 'bad.yaml');
    await writeFile(
      bad,
      'apiVersion: build.slipway.dev/v1\nkind: BuildConfig\nmetadata: { name: app2 }\nspec:\n  source: { dockerfile: "FROM x\\n" }\n  strategy: { docker: {} }\n  output: { image: "registry.test/a:v1" }\n  retries: 99\n',
    );
    const refused = await kube.kubectl('apply', '-f', bad);
    t.is(refused.code, 1);
    t.regex(
      refused.out,
      /BuildConfig(\.build\.slipway\.dev)? "app2" is invalid: spec\.retries: must be between 0 and 10, got 99/,
    );
  },
);

test.serial('discovery, short names and kubectl explain through the OpenAPI v3 document', async (t) => {
  const sw = await startSlipway(t, { agents: 0, coordinator: { kubeApiListen: '127.0.0.1:0' } });
  const kube = await kubeClient(t, sw.coordinators[0]!.kubeApi!.address);
  const resources = await kube.kubectl('api-resources', '--api-group', 'build.slipway.dev');
  t.is(resources.code, 0, resources.out);
  t.regex(resources.out, /buildconfigs\s+bc\s+build\.slipway\.dev\/v1\s+true\s+BuildConfig/);
  t.regex(resources.out, /builds\s+bld\s+build\.slipway\.dev\/v1\s+true\s+Build/);
  const explained = await kube.kubectl('explain', 'buildconfigs.spec.source.git');
  t.is(explained.code, 0, explained.out);
  t.regex(explained.out, /KIND:\s+BuildConfig/);
  t.regex(explained.out, /uri\s+<string> -required-/);
  t.regex(explained.out, /git:\/\/, http\(s\):\/\/, ssh:\/\/ or user@host:path URI of the repository/);
  const status = await kube.kubectl('explain', 'bld.status.conditions');
  t.regex(status.out, /Running and Succeeded/);
  const stages = await kube.kubectl('explain', 'bld.status.stages');
  t.regex(stages.out, /durationMs\s+<integer>/);
  t.regex(stages.out, /FetchInputs, PullImages, Build or PushImage/);
  t.regex((await kube.kubectl('explain', 'bld.status.events')).out, /Normal or Warning/);
  t.regex((await kube.kubectl('explain', 'bld.status.logSnippet')).out, /last lines of its log/);
  t.regex(
    (await kube.kubectl('explain', 'bld.spec.triggeredBy')).out,
    /Manual, GitHub, GitLab, Bitbucket, Gitea, Generic, ImageChange or\s+ConfigChange/,
  );
  t.is((await kube.kubectl('get', 'bc')).out, 'No resources found in default namespace.\n');
});

test.serial('requests pass the authenticate and authorize hooks, over TLS when given a certificate', async (t) => {
  const dir = await tempDir(t);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    path.join(dir, 'key.pem'),
    '-out',
    path.join(dir, 'cert.pem'),
  ]);
  const cert = await readFile(path.join(dir, 'cert.pem'));
  const asked: [string, RequestAttributes][] = [];
  const sw = await startSlipway(t, {
    agents: 0,
    coordinator: { kubeApiListen: '127.0.0.1:0' },
    kubeApi: {
      tls: { key: await readFile(path.join(dir, 'key.pem')), cert },
      authenticate: async (req) => {
        const user = req.headers['x-remote-user'];
        if (typeof user !== 'string') throw new Error('no user');
        return { username: user, groups: ['system:authenticated'] } satisfies UserInfo;
      },
      authorize: async (user, attributes) => {
        asked.push([user.username, attributes]);
        return attributes.verb !== 'delete';
      },
    },
  });
  const address = sw.coordinators[0]!.kubeApi!.address;
  const call = (method: string, urlPath: string, headers: Record<string, string>) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = https.request(`https://${address}${urlPath}`, { method, headers, ca: cert }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end();
    });
  t.like(await call('GET', `${GROUP_PATH}/namespaces/default/buildconfigs`, {}), {
    status: 401,
    body: { kind: 'Status', reason: 'Unauthorized', code: 401 },
  });
  t.like(await call('GET', `${GROUP_PATH}/namespaces/default/buildconfigs`, { 'X-Remote-User': 'alice' }), {
    status: 200,
    body: { kind: 'BuildConfigList' },
  });
  const denied = await call('DELETE', `${GROUP_PATH}/namespaces/team/buildconfigs/app`, { 'X-Remote-User': 'alice' });
  t.like(denied, { status: 403, body: { reason: 'Forbidden', code: 403 } });
  t.regex(
    denied.body.message,
    /User "alice" cannot delete buildconfigs in API group "build.slipway.dev" in the namespace "team"/,
  );
  t.like(await call('GET', '/apis', { 'X-Remote-User': 'alice' }), { status: 200, body: { kind: 'APIGroupList' } });
  t.deepEqual(
    asked.map(([user, a]) => [user, a.verb, a.resourceRequest, a.resource ?? a.path, a.namespace ?? '', a.name ?? '']),
    [
      ['alice', 'list', true, 'buildconfigs', 'default', ''],
      ['alice', 'delete', true, 'buildconfigs', 'team', 'app'],
      ['alice', 'get', false, '/apis', '', ''],
    ],
  );
});
