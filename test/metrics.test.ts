import { randomBytes } from 'node:crypto';
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../common/log.js';
import { slipwayProto } from '../common/grpc/proto.js';
import { BUILD_PHASES } from '../api/types.js';
import { resolveNodeCacheConfig } from '../node-cache/config.js';
import { NodeCache } from '../node-cache/node-cache.js';
import { sumOf } from '../common/metrics/prometheus-text.js';
import type { AgentServiceClient } from '../proto/generated/slipway/v1/AgentService.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { scrape, scrapeUntil, type Scrape } from './helpers/metrics.js';
import { freePort } from './helpers/ports.js';
import { tempDir } from './helpers/processes.js';
import { addAgent, dockerBuildConfig, startSlipway } from './helpers/slipway.js';
import { copyImage, pullThrough, startUpstreamRegistry } from './helpers/upstream-registry.js';
import { eventually } from './helpers/eventually.js';

const unique = () => randomBytes(4).toString('hex');
const BUILD_SERVICE = 'slipway.v1.BuildService';
const AGENT_SERVICE = 'slipway.v1.AgentService';

/** The figure in one scrape, 0 when there is no such series (a counter never incremented). */
const value = (s: Scrape, name: string, labels: Record<string, string> = {}) => sumOf(s, name, labels) ?? 0;
/** The figure summed over the scrapes of several coordinators. */
const total = (scrapes: Scrape[], name: string, labels: Record<string, string> = {}) =>
  scrapes.reduce((sum, s) => sum + value(s, name, labels), 0);

test.serial(
  'two coordinators and an agent: /metrics says what happened, events counted once across coordinators, state the same on each',
  async (t) => {
    t.timeout(240_000);
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { coordinators: 2, agents: 0, coordinator: { httpListen: '127.0.0.1:0' } });
    // The agent reports to coordinator 0; clients call both. GC with a threshold nothing reaches:
    // its rounds (after every build) measure the images and remove nothing.
    const concurrency = 2;
    const agent = await addAgent(t, sw, {
      concurrency,
      settings: {
        metricsListen: '127.0.0.1:0',
        gcIntervalMs: 3_600_000,
        gcHighThreshold: '1000Ti',
        gcLowThreshold: '999Ti',
      },
    });
    const [c0, c1] = [sw.clientOf(0), sw.clientOf(1)];
    const http = sw.coordinators.map((c) => c.http!.address);

    const ok = await git.createRepo('ok', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} > /x\n` });
    const bad = await git.createRepo('bad', { Dockerfile: `FROM ${env.baseImage}\nRUN echo failing && exit 1\n` });
    await c0.createBuildConfig(dockerBuildConfig('ok', ok.uri, `${env.registry}/test/metrics-ok-${unique()}:v1`));
    await c1.createBuildConfig(dockerBuildConfig('bad', bad.uri, `${env.registry}/test/metrics-bad-${unique()}:v1`));
    // No agent has this label: the build stays Pending until it is cancelled.
    const nowhere = dockerBuildConfig('nowhere', ok.uri, `${env.registry}/test/metrics-nowhere-${unique()}:v1`);
    nowhere.spec!.nodeSelector = { 'slipway.dev/test-pool': 'none' };
    await c0.createBuildConfig(nowhere);

    // 3 Complete, 1 Failed, 1 Cancelled while Pending; StartBuild refused twice.
    await c0.startBuild({ namespace: 'default', configName: 'ok' });
    await c1.startBuild({ namespace: 'default', configName: 'ok' });
    await c0.startBuild({ namespace: 'default', configName: 'ok' });
    await c1.startBuild({ namespace: 'default', configName: 'bad' });
    await c0.startBuild({ namespace: 'default', configName: 'nowhere' });
    const notFound = await t.throwsAsync<grpc.ServiceError>(
      c0.startBuild({ namespace: 'default', configName: 'no-such-config' }),
    );
    t.is(notFound?.code, grpc.status.NOT_FOUND);
    const invalid = await t.throwsAsync<grpc.ServiceError>(
      c1.startBuild({ namespace: 'default', configName: 'Not_A_Name' }),
    );
    t.is(invalid?.code, grpc.status.INVALID_ARGUMENT);
    t.is((await c1.cancelBuild('default', 'nowhere-1')).status!.phase, 'Cancelled');

    const finals = await Promise.all(
      ['ok-1', 'ok-2', 'ok-3', 'bad-1', 'nowhere-1'].map((n) =>
        c0.waitForBuild('default', n, AbortSignal.timeout(180_000)),
      ),
    );
    t.deepEqual(
      finals.map((b) => [b.status!.phase, b.status!.reason]),
      [
        ['Complete', ''],
        ['Complete', ''],
        ['Complete', ''],
        ['Failed', 'BuildStepFailed'],
        ['Cancelled', 'Cancelled'],
      ],
    );

    // Gauges follow watches and heartbeats: scrape until they have caught up with the builds'
    // end (a scrape that never agrees fails below).
    const listed = await c1.listBuilds({ namespace: 'default' });
    const byPhase = Object.fromEntries(
      BUILD_PHASES.map((p) => [p, listed.filter((b) => b.status!.phase === p).length]),
    );
    const settled = (s: Scrape) =>
      BUILD_PHASES.every((p) => value(s, 'slipway_builds', { phase: p }) === byPhase[p]) &&
      value(s, 'slipway_agents_running_builds', { agent: agent.config.name }) === 0;
    const coordinators = [await scrapeUntil(http[0]!, settled), await scrapeUntil(http[1]!, settled)];
    const [s0, s1] = coordinators as [Scrape, Scrape];
    const agentMetrics = await scrapeUntil(
      agent.metricsAddress!,
      (s) => value(s, 'slipway_agent_running_builds') === 0,
    );

    // Events: each counted by one coordinator, so the sums over both are what happened.
    t.is(total(coordinators, 'slipway_builds_created_total', { cause: 'Manual' }), 5);
    t.is(total(coordinators, 'slipway_builds_finished_total', { phase: 'Complete' }), 3);
    t.is(total(coordinators, 'slipway_builds_finished_total', { phase: 'Failed', reason: 'BuildStepFailed' }), 1);
    t.is(total(coordinators, 'slipway_builds_finished_total', { phase: 'Cancelled', reason: 'Cancelled' }), 1);
    t.is(total(coordinators, 'slipway_builds_finished_total'), 5);
    t.is(total(coordinators, 'slipway_build_duration_seconds_count', { phase: 'Complete' }), 3);
    t.is(total(coordinators, 'slipway_build_duration_seconds_count', { phase: 'Failed' }), 1);
    t.is(total(coordinators, 'slipway_build_duration_seconds_count'), 4, 'the cancelled build never started');
    t.true(total(coordinators, 'slipway_build_duration_seconds_sum', { phase: 'Complete' }) > 0);
    t.is(total(coordinators, 'slipway_build_queue_duration_seconds_count'), 4);
    // The agent reports to coordinator 0 only: the outcomes were counted there.
    t.is(value(s0, 'slipway_builds_finished_total', { phase: 'Complete' }), 3);
    t.is(value(s1, 'slipway_builds_finished_total', { phase: 'Complete' }), 0);
    // The cancel was coordinator 1's.
    t.is(value(s1, 'slipway_builds_finished_total', { phase: 'Cancelled' }), 1);

    // gRPC: every call counted where it landed, by code.
    const grpcCalls = (s: Scrape, service: string, method: string, code: string) =>
      value(s, 'slipway_grpc_server_handled_total', { service, method, code });
    t.is(grpcCalls(s0, BUILD_SERVICE, 'StartBuild', 'OK'), 3);
    t.is(grpcCalls(s1, BUILD_SERVICE, 'StartBuild', 'OK'), 2);
    t.is(grpcCalls(s0, BUILD_SERVICE, 'StartBuild', 'NOT_FOUND'), 1);
    t.is(grpcCalls(s1, BUILD_SERVICE, 'StartBuild', 'INVALID_ARGUMENT'), 1);
    t.is(total(coordinators, 'slipway_grpc_server_handled_total', { method: 'StartBuild' }), 7);
    t.is(grpcCalls(s1, BUILD_SERVICE, 'CancelBuild', 'OK'), 1);
    t.is(grpcCalls(s0, AGENT_SERVICE, 'ClaimBuild', 'OK'), 4);
    t.is(grpcCalls(s0, AGENT_SERVICE, 'CompleteBuild', 'OK'), 3);
    t.is(grpcCalls(s0, AGENT_SERVICE, 'FailBuild', 'OK'), 1);
    t.true(grpcCalls(s0, AGENT_SERVICE, 'Heartbeat', 'OK') > 0);
    t.is(value(s1, 'slipway_grpc_server_handled_total', { service: AGENT_SERVICE }), 0, 'no agent calls coordinator 1');
    // Waiting for the builds is WatchBuild, a server stream: counted too.
    t.true(grpcCalls(s0, BUILD_SERVICE, 'WatchBuild', 'OK') >= 5);
    t.is(value(s0, 'slipway_grpc_server_handling_seconds_count', { method: 'StartBuild' }), 4);

    // State: the same on both coordinators, and what the store says.
    for (const [i, s] of coordinators.entries()) {
      for (const phase of BUILD_PHASES)
        t.is(value(s, 'slipway_builds', { phase }), byPhase[phase], `coordinator ${i}: ${phase} builds`);
      t.is(value(s, 'slipway_builds', { phase: 'Failed', reason: 'BuildStepFailed' }), 1);
      t.is(value(s, 'slipway_build_queue_depth'), 0);
      t.is(value(s, 'slipway_agents_running_builds', { agent: agent.config.name }), 0);
      t.is(value(s, 'slipway_agents_capacity', { agent: agent.config.name }), concurrency);
      t.is(value(s, 'slipway_agents_live', { agent: agent.config.name }), 1);
      t.is(s.get('slipway_builds')!.samples[0]!.labels.coordinator, `coordinator-${i}`);
    }

    // The agent's own view.
    t.is(value(agentMetrics, 'slipway_agent_running_builds'), 0);
    t.is(value(agentMetrics, 'slipway_agent_capacity'), concurrency);
    t.is(value(agentMetrics, 'slipway_agent_builds_finished_total', { phase: 'Complete' }), 3);
    t.is(value(agentMetrics, 'slipway_agent_builds_finished_total', { phase: 'Failed', reason: 'BuildStepFailed' }), 1);
    t.is(value(agentMetrics, 'slipway_agent_build_duration_seconds_count'), 4);
    t.is(agentMetrics.get('slipway_agent_capacity')!.samples[0]!.labels.agent, agent.config.name);

    // Image GC figures travel in heartbeats: the coordinators show what the agent measured (a
    // GC round after the last build may still change it: compare scrapes taken together).
    let measured = { agent: NaN, heard: NaN, agentReclaimed: NaN, heardReclaimed: NaN };
    await eventually(
      'the coordinator to show the image bytes the agent measured',
      async () => {
        const [a, c] = [await scrape(agent.metricsAddress!), await scrape(http[1]!)];
        measured = {
          agent: value(a, 'slipway_agent_image_disk_usage_bytes'),
          heard: value(c, 'slipway_agents_image_bytes', { agent: agent.config.name }),
          agentReclaimed: value(a, 'slipway_agent_gc_reclaimed_bytes_total'),
          heardReclaimed: value(c, 'slipway_agents_gc_reclaimed_bytes_total', { agent: agent.config.name }),
        };
        return measured.agent === measured.heard;
      },
      { timeoutMs: 15_000, intervalMs: 200, detail: () => measured },
    );
    t.true(measured.agent > 0, 'the GC rounds after the builds measured the images');
    t.is(measured.heard, measured.agent);
    t.is(measured.heardReclaimed, measured.agentReclaimed);
  },
);

test.serial(
  "builds superseded by the run policy, which both coordinators' controllers decide on, are counted once",
  async (t) => {
    t.timeout(240_000);
    const env = testEnvironment();
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { coordinators: 2, concurrency: 3, coordinator: { httpListen: '127.0.0.1:0' } });
    const repo = await git.createRepo('latest', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} && sleep 2\n`,
    });
    const config = dockerBuildConfig('latest', repo.uri, `${env.registry}/test/metrics-latest-${unique()}:v1`, {
      noCache: true,
    });
    config.spec!.runPolicy = 'SerialLatestOnly';
    await sw.client.createBuildConfig(config);
    await sw.client.startBuild({ namespace: 'default', configName: 'latest' });
    for await (const b of sw.client.watchBuild('default', 'latest-1', AbortSignal.timeout(60_000)))
      if (b.status!.phase !== 'New') break;
    // Queued behind latest-1: latest-5 runs after it, 2 to 4 are superseded.
    for (let i = 2; i <= 5; i++) await sw.clientOf(i % 2).startBuild({ namespace: 'default', configName: 'latest' });
    const names = ['latest-1', 'latest-2', 'latest-3', 'latest-4', 'latest-5'];
    const finals = await Promise.all(
      names.map((n) => sw.client.waitForBuild('default', n, AbortSignal.timeout(180_000))),
    );
    const superseded = finals.filter((b) => b.status!.reason === 'Superseded').length;
    t.is(superseded, 3);

    const scrapes = [await scrape(sw.coordinators[0]!.http!.address), await scrape(sw.coordinators[1]!.http!.address)];
    t.is(total(scrapes, 'slipway_builds_created_total'), 5);
    t.is(total(scrapes, 'slipway_builds_finished_total', { phase: 'Cancelled', reason: 'Superseded' }), superseded);
    t.is(total(scrapes, 'slipway_builds_finished_total', { phase: 'Complete' }), 2);
    t.is(total(scrapes, 'slipway_builds_finished_total'), 5);
    t.is(total(scrapes, 'slipway_build_queue_duration_seconds_count'), 2, 'only two ever started');
  },
);

test.serial(
  "the node cache's hits and misses reach the agent's metrics and, through heartbeats, the coordinator's",
  async (t) => {
    t.timeout(120_000);
    const upstream = await startUpstreamRegistry(t);
    await copyImage(testEnvironment().registry, upstream.address, 'library/busybox', 'latest');
    const cache = await NodeCache.start(
      resolveNodeCacheConfig({
        upstream: `http://${upstream.address}`,
        listen: `127.0.0.1:${await freePort()}`,
        root: await tempDir(t, 'slipway-node-cache-'),
        metricsListen: '127.0.0.1:0',
        sweepIntervalMs: 0,
        registryBinary: 'docker-registry',
      }),
      { log: silentLogger },
    );
    t.teardown(() => cache.stop());
    // Pulled twice through the cache: misses, then hits.
    t.is((await pullThrough(cache.address, 'library/busybox', 'latest')).status, 200);
    t.is((await pullThrough(cache.address, 'library/busybox', 'latest')).status, 200);
    const own = await scrape(cache.metricsAddress!);
    const hits = value(own, 'slipway_node_cache_blob_hits_total');
    const misses = value(own, 'slipway_node_cache_blob_misses_total');
    t.true(hits > 0 && misses > 0, `hits ${hits}, misses ${misses}`);

    const sw = await startSlipway(t, { agents: 0, coordinator: { httpListen: '127.0.0.1:0' } });
    const agent = await addAgent(t, sw, {
      settings: { metricsListen: '127.0.0.1:0', nodeCacheMetricsUrl: `http://${cache.metricsAddress!}/metrics` },
    });
    const name = { agent: agent.config.name };
    const fromAgent = await scrapeUntil(
      agent.metricsAddress!,
      (s) => value(s, 'slipway_agent_node_cache_readable') === 1,
    );
    t.is(value(fromAgent, 'slipway_agent_node_cache_hits_total'), hits);
    t.is(value(fromAgent, 'slipway_agent_node_cache_misses_total'), misses);
    const fromCoordinator = await scrapeUntil(
      sw.coordinators[0]!.http!.address,
      (s) => value(s, 'slipway_agents_node_cache_hits_total', name) === hits,
    );
    t.is(value(fromCoordinator, 'slipway_agents_node_cache_hits_total', name), hits);
    t.is(value(fromCoordinator, 'slipway_agents_node_cache_misses_total', name), misses);
    t.is(fromCoordinator.get('slipway_agents_node_cache_hits_total')!.type, 'counter');

    // The cache goes away: the agent says it cannot read it and keeps the last figures.
    await cache.stop();
    const unread = await scrapeUntil(agent.metricsAddress!, (s) => value(s, 'slipway_agent_node_cache_readable') === 0);
    t.is(value(unread, 'slipway_agent_node_cache_readable'), 0);
    t.is(value(unread, 'slipway_agent_node_cache_hits_total'), hits);
  },
);

test('a heartbeat with figures that cannot be true is refused, naming each field, and changes nothing', async (t) => {
  const sw = await startSlipway(t, { agents: 0, coordinator: { httpListen: '127.0.0.1:0' } });
  const agents = new (slipwayProto().slipway.v1.AgentService)(
    sw.coordinators[0]!.address,
    grpc.credentials.createInsecure(),
  ) as AgentServiceClient;
  t.teardown(() => agents.close());
  const beat = (req: object) =>
    new Promise<unknown>((resolve, reject) =>
      agents.Heartbeat({ agent: 'a', node: 'n', instance: 'r1', running: [], ...req }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  const err = await t.throwsAsync<grpc.ServiceError>(
    beat({
      capacity: 5000,
      cache: { imageBytes: -1, gcReclaimedBytes: '9223372036854775807', nodeCacheHits: 3, nodeCacheMisses: 0 },
    }),
  );
  t.is(err?.code, grpc.status.INVALID_ARGUMENT);
  t.regex(err!.details, /capacity: must be a whole number from 0 \(not said\) to 1024, got 5000/);
  t.regex(err!.details, /cache\.imageBytes: must be a whole number from 0 to 2\^53-1, got -1/);
  t.regex(err!.details, /cache\.gcReclaimedBytes: must be a whole number from 0 to 2\^53-1/);
  t.notRegex(err!.details, /nodeCacheHits/);
  t.is(await sw.coordinators[0]!.store.agents.get('a'), undefined, 'no record of the refused heartbeat');

  await beat({ capacity: 3, cache: { imageBytes: 10, gcReclaimedBytes: 20, nodeCacheHits: 30, nodeCacheMisses: 40 } });
  const s = await scrapeUntil(
    sw.coordinators[0]!.http!.address,
    (m) => value(m, 'slipway_agents_live', { agent: 'a' }) === 1,
  );
  t.is(value(s, 'slipway_agents_capacity', { agent: 'a' }), 3);
  t.is(value(s, 'slipway_agents_image_bytes', { agent: 'a' }), 10);
  t.is(value(s, 'slipway_agents_gc_reclaimed_bytes_total', { agent: 'a' }), 20);
  t.is(value(s, 'slipway_agents_node_cache_hits_total', { agent: 'a' }), 30);
  t.is(value(s, 'slipway_agents_node_cache_misses_total', { agent: 'a' }), 40);
});
