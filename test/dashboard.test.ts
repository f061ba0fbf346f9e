import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SlipwayClient } from '../cli/client.js';
import { LOGS_STREAM } from '../common/nats/logs.js';
import { BUILDS_BUCKET } from '../common/nats/names.js';
import { launchBrowser, screenshot, watchPage } from './helpers/browser.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { stepOutput } from './helpers/log-lines.js';
import { tempDir } from './helpers/processes.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { eventually } from './helpers/eventually.js';

/** The lines of the build's log, as the gRPC API gives them. */
async function logLines(client: SlipwayClient, name: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const l of client.streamBuildLogs({ namespace: 'default', name })) lines.push(l.text);
  return lines;
}

/** The first line of an NDJSON answer. */
async function readLine(res: Response): Promise<string> {
  let text = '';
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  while (!text.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text.slice(0, text.indexOf('\n'));
}

/** The log pane's lines (the pane ends each line with a newline). */
function paneLines(text: string): string[] {
  return text.split('\n').slice(0, -1);
}

test.serial(
  'in headless Chromium the builds page shows a build go from Running to Complete without a reload, and the build page follows its log',
  async (t) => {
    t.timeout(170_000);
    const env = testEnvironment();
    const git = await startGitServer(t);
    const slipway = await startSlipway(t, { coordinator: { httpListen: '127.0.0.1:0' } });
    const http = slipway.coordinators[0]!.http!;
    const word = randomBytes(4).toString('hex');
    // The lines are made by the shell, so the RUN step's own command line (which the log shows
    // too) does not contain them; the sleep keeps the build Running for a moment.
    const first = `dashboard-first-${word}`;
    const second = `dashboard-second-${word}`;
    const repo = await git.createRepo('app', {
      Dockerfile: `FROM ${env.baseImage}\nRUN w=dashboard; echo "$w-first-${word}" && sleep 3 && echo "$w-second-${word}"\n`,
    });
    await slipway.client.createBuildConfig(
      dockerBuildConfig('app', repo.uri, `${env.registry}/test/dashboard-${word}:v1`, { noCache: true }),
    );

    const browser = await launchBrowser(t);
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    const seen = watchPage(page);

    // The builds page, before there is any build.
    const answer = await page.goto(`${http.url}/ui/namespaces/default/builds`);
    t.is(answer?.status(), 200);
    t.is(answer?.headers()['content-security-policy']?.split(';')[0], "default-src 'self'");
    t.is(answer?.headers()['x-content-type-options'], 'nosniff');
    await page.waitForFunction(() => document.getElementById('connection')?.textContent?.startsWith('Live'));
    t.false(await page.$eval('#no-builds', (e) => (e as HTMLElement).hidden));
    // Local mode: no token is asked for.
    t.is(await page.$eval('#token-form', (e) => getComputedStyle(e).display), 'none');

    // Something only this page load holds, and every phase app-1's row shows, as it changes.
    const marker = randomBytes(8).toString('hex');
    await page.evaluate((m) => {
      const w = window as unknown as { slipwayTestMarker: string; phasesSeen: string[] };
      w.slipwayTestMarker = m;
      w.phasesSeen = [];
      new MutationObserver(() => {
        const phase = document.querySelector('tr[data-build="app-1"]')?.getAttribute('data-phase');
        if (phase && w.phasesSeen.at(-1) !== phase) w.phasesSeen.push(phase);
      }).observe(document.getElementById('builds-body')!, { subtree: true, childList: true, attributes: true });
    }, marker);
    const navigations = seen.navigations();

    await slipway.client.startBuild({ namespace: 'default', configName: 'app' });
    await page.waitForSelector('tr[data-build="app-1"][data-phase="Complete"]', { timeout: 120_000 });
    const phases = await page.evaluate(() => (window as unknown as { phasesSeen: string[] }).phasesSeen);
    t.log(`phases the builds page showed for app-1: ${phases.join(' → ')}`);
    t.true(phases.includes('Running'), phases.join(' → '));
    t.is(phases.at(-1), 'Complete');
    t.true(phases.indexOf('Running') < phases.indexOf('Complete'));
    // Not reloaded: the page's own state is still there, and the main frame never navigated.
    t.is(await page.evaluate(() => (window as unknown as { slipwayTestMarker: string }).slipwayTestMarker), marker);
    t.is(seen.navigations(), navigations);

    const cells = await page.$$eval('tr[data-build="app-1"] > *', (cs) => cs.map((c) => c.textContent?.trim() ?? ''));
    t.is(cells[0], 'app-1');
    t.regex(cells[1]!, /Complete/);
    t.is(cells[2], 'app');
    t.regex(cells[3]!, / on node-0$/);
    t.regex(cells[4]!, /^\d+(s|m \d\ds)$/);
    t.regex(cells[5]!, /ago$/);
    t.regex(cells[6]!, /^Manual/);
    t.regex((await page.$eval('#announcer', (e) => e.textContent)) ?? '', /app-1 is now Complete/);
    t.log(`screenshot of the builds page: ${await screenshot(page, 'dashboard.png')}`);

    // Its build page (by keyboard: focus the link, press Enter) shows the whole log, as gRPC has it.
    await page.focus('tr[data-build="app-1"] a');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    t.is(new URL(page.url()).pathname, '/ui/namespaces/default/builds/app-1');
    const expected1 = await logLines(slipway.client, 'app-1');
    t.true(
      expected1.map(stepOutput).includes(first) && expected1.map(stepOutput).includes(second),
      expected1.join('\n'),
    );
    await page.waitForFunction(
      (n) => (document.getElementById('log')?.textContent ?? '').split('\n').length - 1 >= n,
      {},
      expected1.length,
    );
    t.deepEqual(paneLines(await page.$eval('#log', (e) => e.textContent ?? '')), expected1);
    t.regex((await page.$eval('#phase', (e) => e.textContent)) ?? '', /Complete/);
    t.regex((await page.$eval('#facts', (e) => e.textContent)) ?? '', /Nodenode-0/);

    // A second build's page, opened while it has not started: its log is followed as the build
    // writes it, and the phase changes in place, without a reload.
    await slipway.client.startBuild({ namespace: 'default', configName: 'app' });
    await page.goto(`${http.url}/ui/namespaces/default/builds/app-2`);
    const navigations2 = seen.navigations();
    await page.evaluate(
      (m) => void ((window as unknown as { slipwayTestMarker: string }).slipwayTestMarker = m),
      marker,
    );
    // The step's output line, as the log shows it: "#5 0.123 <first>".
    await page.waitForFunction(
      (line) => (document.getElementById('log')?.textContent ?? '').split('\n').some((l) => l.endsWith(` ${line}`)),
      { timeout: 120_000 },
      first,
    );
    await page.waitForFunction(
      () =>
        document.body.dataset.phase === 'Complete' &&
        document.getElementById('log-state')?.textContent === 'End of log.',
      { timeout: 120_000 },
    );
    const expected2 = await logLines(slipway.client, 'app-2');
    t.deepEqual(
      paneLines(await page.$eval('#log', (e) => e.textContent ?? '')),
      expected2,
      'every line once, in order',
    );
    t.is(await page.evaluate(() => (window as unknown as { slipwayTestMarker: string }).slipwayTestMarker), marker);
    t.is(seen.navigations(), navigations2);
    t.is(await page.$eval('#log', (e) => `${e.getAttribute('role')} ${e.getAttribute('aria-live')}`), 'log polite');
    t.log(`screenshot of a build page: ${await screenshot(page, 'dashboard-build.png')}`);

    // The agents page: the agent, its node, that it heartbeats, what it runs.
    await page.goto(`${http.url}/ui/agents`);
    await page.waitForSelector('tr[data-agent]');
    const agentCells = await page.$$eval('tr[data-agent] > *', (cs) => cs.map((c) => c.textContent?.trim() ?? ''));
    t.is(agentCells[1], 'node-0');
    t.regex(agentCells[2]!, /heartbeating/);
    t.regex(agentCells[3]!, /^0 (of \d+|\(capacity not reported\))$/);
    t.is(agentCells[4], 'none');
    t.log(`screenshot of the agents page: ${await screenshot(page, 'dashboard-agents.png')}`);

    t.deepEqual(seen.problems, [], 'no script errors, no Content-Security-Policy violations');
  },
);

test.serial(
  'with tokens, the API refuses no token (401) and another tenant’s namespace (403); the page asks for a token and then shows the builds',
  async (t) => {
    t.timeout(120_000);
    const unique = () => randomBytes(12).toString('hex');
    const tokens = { admin: unique(), viewer: unique(), tenantA: unique(), nobody: unique() };
    const file = path.join(await tempDir(t, 'slipway-tokens-'), 'tokens.csv');
    await writeFile(
      file,
      [
        `${tokens.admin},alice,1,"slipway:admins"`,
        `${tokens.viewer},carol,3,"slipway:viewers"`,
        `${tokens.tenantA},erin,5,"slipway:viewers,slipway:ns:tenant-a"`,
        `${tokens.nobody},mallory,6,""`,
      ].join('\n'),
    );
    const slipway = await startSlipway(t, {
      agents: 0,
      coordinator: { httpListen: '127.0.0.1:0', apiTokensFile: file },
    });
    const base = slipway.coordinators[0]!.http!.url;
    const admin = new SlipwayClient(slipway.coordinators[0]!.address, 5000, {}, { token: tokens.admin });
    t.teardown(() => admin.close());
    for (const ns of ['default', 'tenant-a']) {
      const config = dockerBuildConfig('app', 'git://127.0.0.1:1/none', `${testEnvironment().registry}/test/none:v1`);
      await admin.createBuildConfig({ ...config, metadata: { ...config.metadata, namespace: ns } });
      await admin.startBuild({ namespace: ns, configName: 'app' });
    }
    const get = (p: string, token?: string) =>
      fetch(`${base}${p}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

    const none = await get('/api/v1/namespaces/default/builds');
    t.is(none.status, 401);
    t.is(none.headers.get('www-authenticate'), 'Bearer realm="slipway"');
    t.is(((await none.json()) as { reason: string }).reason, 'Unauthorized');
    t.is((await get('/api/v1/namespaces/default/builds', 'not-a-token')).status, 401);
    t.is((await get('/api/v1/namespaces/default/builds?watch=true')).status, 401);
    t.is((await get('/api/v1/namespaces/default/builds/app-1/log')).status, 401);
    t.is((await get('/api/v1/agents')).status, 401);

    // A tenant reads its own namespace and nothing else; a token without a role reads nothing.
    const other = await get('/api/v1/namespaces/default/builds', tokens.tenantA);
    t.is(other.status, 403);
    const refusal = (await other.json()) as { reason: string; message: string };
    t.is(refusal.reason, 'Forbidden');
    t.regex(refusal.message, /erin.*namespace "default"/);
    t.false(JSON.stringify(refusal).includes(tokens.tenantA));
    t.is((await get('/api/v1/namespaces/default/builds/app-1', tokens.tenantA)).status, 403);
    t.is((await get('/api/v1/namespaces/default/builds/app-1/log', tokens.tenantA)).status, 403);
    t.is((await get('/api/v1/namespaces/default/builds?watch=true', tokens.tenantA)).status, 403);
    t.is((await get('/api/v1/agents', tokens.tenantA)).status, 403, 'agents name builds of every namespace');
    t.is((await get('/api/v1/namespaces/default/builds', tokens.nobody)).status, 403);
    const own = await get('/api/v1/namespaces/tenant-a/builds', tokens.tenantA);
    t.is(own.status, 200);
    t.deepEqual(
      ((await own.json()) as { items: { build: { metadata: { name: string } } }[] }).items.map(
        (i) => i.build.metadata.name,
      ),
      ['app-1'],
    );
    t.is((await get('/api/v1/namespaces/default/builds', tokens.viewer)).status, 200);
    t.is((await get('/api/v1/agents', tokens.viewer)).status, 200);
    t.is((await get('/api/v1/namespaces/default/builds/app-9', tokens.viewer)).status, 404);
    t.is((await get('/api/v1/namespaces/default/builds?watch=maybe', tokens.viewer)).status, 400);

    // Pages hold no data and are open; they send the security headers.
    const html = await get('/ui/namespaces/tenant-a/builds');
    t.is(html.status, 200);
    t.regex(html.headers.get('content-security-policy') ?? '', /^default-src 'self'/);
    t.is(html.headers.get('x-content-type-options'), 'nosniff');

    // In the browser: the page asks for a token, keeps it for the tab, and goes live with it.
    const browser = await launchBrowser(t);
    const page = await browser.newPage();
    await page.goto(`${base}/ui/namespaces/tenant-a/builds`);
    await page.waitForSelector('#token-form', { visible: true });
    t.true(await page.$eval('#token-input', (e) => e === document.activeElement), 'focus moves to the token field');
    await page.type('#token-input', tokens.tenantA);
    await page.keyboard.press('Enter');
    await page.waitForSelector('tr[data-build="app-1"]');
    t.regex((await page.$eval('#connection', (e) => e.textContent)) ?? '', /^Live/);
    t.is(await page.evaluate(() => sessionStorage.getItem('slipway.token')), tokens.tenantA);
    t.is(await page.$eval('#token-form', (e) => getComputedStyle(e).display), 'none');
    // The token is in the header only: not in the page's address or its HTML.
    t.false(page.url().includes(tokens.tenantA));
    t.false((await page.content()).includes(tokens.tenantA));

    // With it, another tenant's namespace is refused in the page too.
    await page.goto(`${base}/ui/namespaces/default/builds`);
    await page.waitForFunction(() => document.getElementById('connection')?.textContent?.startsWith('Not allowed'));
    t.is(await page.$$eval('#builds-body tr', (rows) => rows.length), 0);
  },
);

test.serial(
  'the builds stream starts with a snapshot, carries every change after its revision, and ends when the client goes away',
  async (t) => {
    t.timeout(90_000);
    const slipway = await startSlipway(t, { agents: 0, coordinator: { httpListen: '127.0.0.1:0' } });
    const base = slipway.coordinators[0]!.http!.url;
    await slipway.client.createBuildConfig(
      dockerBuildConfig('app', 'git://127.0.0.1:1/none', `${testEnvironment().registry}/test/none:v1`),
    );
    await slipway.client.startBuild({ namespace: 'default', configName: 'app' });
    // Another namespace's builds are not this stream's.
    await slipway.client.createBuildConfig({
      ...dockerBuildConfig('app', 'git://127.0.0.1:1/none', `${testEnvironment().registry}/test/none:v1`),
      metadata: { name: 'app', namespace: 'elsewhere' },
    });

    // Each stream reads a change feed through a consumer of its own; the consumers there are
    // before (the build controller's) are not this test's.
    const nc = await connect({ servers: slipway.natsUrl });
    t.teardown(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const consumers = async (stream: string) => {
      const found: { name: string; filter: string }[] = [];
      // A consumer deleted while the list was read comes back as null (a listing's key scan ending).
      for await (const c of jsm.consumers.list(stream))
        if (c) found.push({ name: c.name, filter: c.config.filter_subject ?? String(c.config.filter_subjects ?? '') });
      return found;
    };
    const before = new Set(
      [...(await consumers(`KV_${BUILDS_BUCKET}`)), ...(await consumers(LOGS_STREAM))].map((c) => c.name),
    );
    /** Consumers the streams below made for their feeds: the list's, the build watch's, the log's. */
    const feeds = async () =>
      [...(await consumers(`KV_${BUILDS_BUCKET}`)), ...(await consumers(LOGS_STREAM))]
        .filter((c) => !before.has(c.name))
        // A listing's key scan (nats.js kv.keys) is not a feed: it ended with the listing.
        .filter((c) => !c.filter.endsWith('.*'))
        .map((c) => c.filter);

    const abort = new AbortController();
    const res = await fetch(`${base}/api/v1/namespaces/default/builds?watch=true`, { signal: abort.signal });
    t.is(res.status, 200);
    t.regex(res.headers.get('content-type') ?? '', /^application\/x-ndjson/);
    const lines = res.body!.pipeThrough(new TextDecoderStream())[Symbol.asyncIterator]();
    let buffered = '';
    const next = async (): Promise<{
      type: string;
      revision: number;
      items?: { build: { metadata: { name: string } } }[];
      build?: { metadata: { name: string; namespace: string }; status: { phase: string } };
    }> => {
      for (;;) {
        const nl = buffered.indexOf('\n');
        if (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const event = JSON.parse(line);
          if (event.type !== 'PING') return event;
          continue;
        }
        const chunk = await lines.next();
        if (chunk.done) throw new Error('the stream ended');
        buffered += chunk.value;
      }
    };

    const snapshot = await next();
    t.is(snapshot.type, 'SNAPSHOT');
    t.deepEqual(
      snapshot.items!.map((i) => i.build.metadata.name),
      ['app-1'],
    );
    await slipway.client.startBuild({ namespace: 'elsewhere', configName: 'app' });
    await slipway.client.startBuild({ namespace: 'default', configName: 'app' });
    await slipway.client.cancelBuild('default', 'app-2');

    // Every change of this namespace after the snapshot, in order: app-1 and app-2 become
    // Pending (no agent runs them), app-2 is created and cancelled; nothing of "elsewhere".
    const changes: string[] = [];
    let revision = snapshot.revision;
    while (!changes.includes('MODIFIED app-2 Cancelled')) {
      const e = await next();
      t.true(e.revision > revision, 'revisions only go up');
      revision = e.revision;
      t.is(e.build!.metadata.namespace, 'default');
      changes.push(`${e.type} ${e.build!.metadata.name} ${e.build!.status.phase}`);
    }
    t.true(changes.includes('ADDED app-2 New'), changes.join(', '));
    t.is(changes.filter((c) => c.startsWith('ADDED')).length, 1, changes.join(', '));
    t.true(
      changes.every((c) => !c.startsWith('DELETED')),
      changes.join(', '),
    );

    // A build's watch and its log followed hold feeds too; every client goes away, and every
    // feed is stopped and its consumer deleted.
    const others = new AbortController();
    const watch = await fetch(`${base}/api/v1/namespaces/default/builds/app-1?watch=true`, { signal: others.signal });
    t.regex(await readLine(watch), /^\{"type":"BUILD"/);
    const log = await fetch(`${base}/api/v1/namespaces/default/builds/app-1/log?follow=true`, {
      signal: others.signal,
    });
    t.is(log.status, 200);
    await eventually(
      "the streams' two build feeds and a log feed",
      async () => {
        const f = await feeds();
        return (
          f.filter((s) => s === `$KV.${BUILDS_BUCKET}.>`).length === 2 &&
          f.some((s) => s.startsWith('slipway.logs.default.app-1.'))
        );
      },
      { detail: async () => (await feeds()).join(', ') },
    );
    abort.abort();
    others.abort();
    await eventually('no feed left', async () => (await feeds()).length === 0, {
      detail: async () => `left behind: ${(await feeds()).join(', ')}`,
    });
  },
);
