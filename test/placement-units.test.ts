import test from 'ava';
import type { Build } from '../api/types.js';
import { PlacementIndex } from '../coordinator/placement/placement-index.js';
import { UnclaimedPlacements } from '../coordinator/placement/unclaimed-placements.js';
import {
  decide,
  fairOrder,
  WarmIndex,
  type AgentView,
  type Candidate,
  type Decision,
  type Load,
  type PlacementInputs,
} from '../coordinator/placement/placement.js';

// placement.ts is a pure function of the queue, the agents and their load: these pin down its
// rules one by one. test/placement.test.ts runs them end to end on real agents and daemons.

const NOW = 1_000_000;

function build(
  namespace: string,
  name: string,
  o: {
    config?: string;
    nodeSelector?: Record<string, string>;
    cpu?: string;
    memory?: string;
    pushSecret?: string;
    /** Source-to-Image instead of a Dockerfile. */
    s2i?: boolean;
    /** A custom builder, given a Docker daemon of its own or not. */
    custom?: { exposeDockerSocket: boolean };
  } = {},
): Build {
  return {
    metadata: {
      name,
      namespace,
      uid: name,
      creationTimestamp: '',
      generation: 1,
      labels: { 'slipway.dev/buildconfig': o.config ?? 'app' },
    },
    spec: {
      configName: o.config ?? 'app',
      config: {
        source: { git: { uri: 'git://h/r', ref: 'main' } },
        strategy: o.custom
          ? { custom: { image: 'r/builder:1', ...o.custom } }
          : o.s2i
            ? { source: { builderImage: 'r/builder:1' } }
            : { docker: {} },
        output: { image: 'r/a:v', ...(o.pushSecret ? { pushSecret: { name: o.pushSecret } } : {}) },
        ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
        ...(o.cpu || o.memory
          ? { resources: { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}) } }
          : {}),
      },
    },
    status: { phase: 'Pending', attempt: 1, queuedTimestamp: new Date(NOW).toISOString() },
  } as Build;
}

const candidate = (b: Build, queuedAt = NOW): Candidate => ({
  key: `${b.metadata.namespace}.${b.metadata.name}`,
  build: b,
  revision: 1,
  queuedAt,
});

/** An agent on the node's shared daemon (the host executor) unless `o` says otherwise. */
function agent(name: string, o: Partial<AgentView> = {}): AgentView {
  return {
    name,
    node: `node-${name}`,
    labels: {},
    capacity: 2,
    warmConfigs: [],
    warmImages: [],
    limitsDockerfileBuilds: false,
    daemonPerBuild: false,
    isolation: 'host-root',
    ...o,
  };
}

function inputs(o: Partial<PlacementInputs> = {}): PlacementInputs {
  return {
    now: NOW,
    affinity: true,
    affinityGraceMs: 10_000,
    namespaceLastPlaced: new Map(),
    agentLastPlaced: new Map(),
    missingPushSecret: () => undefined,
    ...o,
  };
}

const placedOn = (ds: Decision[]) =>
  Object.fromEntries(ds.map((d) => [d.key, d.kind === 'place' ? d.agent.name : `${d.reason}: ${d.message}`]));

test('namespaces take turns: the one served longest ago first, each oldest first', (t) => {
  const a = Array.from({ length: 4 }, (_, i) => candidate(build('tenant-a', `a-${i}`), NOW + i));
  const b = candidate(build('tenant-b', 'b-0'), NOW + 100);
  const c = candidate(build('tenant-c', 'c-0'), NOW + 50);
  // tenant-a was just served; b and c never were.
  const order = fairOrder([...a, b, c], new Map([['tenant-a', NOW]]));
  t.deepEqual(
    order.map((x) => x.build.metadata.name),
    ['b-0', 'c-0', 'a-0', 'a-1', 'a-2', 'a-3'],
  );
  const neverServed = fairOrder([...a, b], new Map());
  t.deepEqual(
    neverServed.map((x) => x.build.metadata.name).slice(0, 3),
    ['a-0', 'b-0', 'a-1'],
    'round robin, by name when none was served',
  );
});

test('a nodeSelector no agent matches gives NoMatchingAgent at once, naming the selector and the agents', (t) => {
  const ds = decide(
    [candidate(build('ns', 'gpu', { nodeSelector: { gpu: 'true' } }))],
    [agent('x', { labels: { disk: 'ssd' } })],
    new Map(),
    inputs(),
  );
  t.is(ds.length, 1);
  t.like(ds[0], { kind: 'wait', reason: 'NoMatchingAgent' });
  t.is(
    (ds[0] as { message: string }).message,
    "no agent's node matches nodeSelector gpu=true (1 agent(s): x {disk=ssd})",
  );
  t.like(decide([candidate(build('ns', 'any'))], [], new Map(), inputs())[0], {
    reason: 'NoMatchingAgent',
    message: 'no agent is connected',
  });
});

test('builds go only to agents whose labels match, and resources must fit', (t) => {
  const agents = [
    agent('ssd', { labels: { disk: 'ssd' } }),
    agent('hdd', { labels: { disk: 'hdd' }, cpuMillis: 2000, memoryBytes: 2 ** 30, limitsDockerfileBuilds: true }),
  ];
  const ds = decide(
    [
      candidate(build('ns', 'on-hdd', { nodeSelector: { disk: 'hdd' } })),
      candidate(build('ns', 'on-ssd', { nodeSelector: { disk: 'ssd' } })),
      candidate(build('ns', 'huge', { nodeSelector: { disk: 'hdd' }, cpu: '4' })),
    ],
    agents,
    new Map(),
    inputs(),
  );
  const where = placedOn(ds);
  t.is(where['ns.on-hdd'], 'hdd');
  t.is(where['ns.on-ssd'], 'ssd');
  t.regex(
    where['ns.huge']!,
    /^NoMatchingAgent: 1 agent\(s\) match nodeSelector disk=hdd but none can hold the build's resources \(cpu 4\)/,
  );
});

test('a Dockerfile build with resources goes only to an agent that holds it to them; with none, it waits saying so', (t) => {
  const host = agent('host', { labels: { pool: 'a' } });
  const dind = agent('dind', { labels: { pool: 'a' }, limitsDockerfileBuilds: true });
  const limited = () => candidate(build('ns', 'limited', { memory: '64Mi', nodeSelector: { pool: 'a' } }));
  // host is the emptier: least loaded would pick it, were it able.
  const load = new Map<string, Load>([['dind', { slots: 1, cpuMillis: 0, memoryBytes: 0 }]]);
  t.is(placedOn(decide([limited()], [host, dind], load, inputs({ affinity: false })))['ns.limited'], 'dind');
  t.is(
    placedOn(decide([limited()], [host, agent('host-2', { labels: { pool: 'a' } })], new Map(), inputs()))[
      'ns.limited'
    ],
    "NoMatchingAgent: 2 agent(s) match nodeSelector pool=a but none can hold a Dockerfile build to its resources (memory 64Mi): BuildKit on a shared Docker daemon ignores a build's limits; it needs an agent with the dind executor",
  );
  t.regex(
    placedOn(decide([candidate(build('ns', 'cpu', { cpu: '500m' }))], [host], new Map(), inputs()))['ns.cpu']!,
    /^NoMatchingAgent: 1 agent\(s\) match the build \(no nodeSelector\) but none can hold a Dockerfile build to its resources \(cpu 500m\)/,
    'cpu alone is a limit too',
  );
  // Source-to-Image limits its own containers on any daemon; a Dockerfile build without resources needs no limit.
  const s2i = candidate(build('ns', 's2i', { memory: '64Mi', s2i: true }));
  const plain = candidate(build('ns', 'plain'));
  t.deepEqual(placedOn(decide([s2i, plain], [host], new Map(), inputs())), { 'ns.s2i': 'host', 'ns.plain': 'host' });
});

test('a custom builder given a Docker daemon goes only to an agent that starts one per build; with none, it waits saying so', (t) => {
  const host = agent('host', { labels: { pool: 'a' } });
  const dind = agent('dind', { labels: { pool: 'a' }, daemonPerBuild: true });
  const socket = () => candidate(build('ns', 'socket', { custom: { exposeDockerSocket: true } }));
  // host is the emptier: least loaded would pick it, were it able.
  const load = new Map<string, Load>([['dind', { slots: 1, cpuMillis: 0, memoryBytes: 0 }]]);
  t.is(placedOn(decide([socket()], [host, dind], load, inputs({ affinity: false })))['ns.socket'], 'dind');
  t.is(
    placedOn(decide([socket()], [host], new Map(), inputs()))['ns.socket'],
    'NoMatchingAgent: 1 agent(s) match the build (no nodeSelector) but none can give a build a Docker daemon of its own (strategy.custom.exposeDockerSocket): it needs an agent with the dind executor',
  );
  // Without the socket a custom builder goes anywhere.
  const plain = candidate(build('ns', 'plain', { custom: { exposeDockerSocket: false } }));
  t.is(placedOn(decide([plain], [host, dind], load, inputs({ affinity: false })))['ns.plain'], 'host');
});

test('capacity: slots and memory are never given twice; the rest wait, saying how many are ahead', (t) => {
  const load = new Map<string, Load>([['x', { slots: 1, cpuMillis: 0, memoryBytes: 0 }]]);
  const builds = Array.from({ length: 4 }, (_, i) => candidate(build('ns', `b-${i}`), NOW + i));
  const ds = decide(builds, [agent('x', { capacity: 2 })], load, inputs());
  t.deepEqual(Object.values(placedOn(ds)), [
    'x',
    'WaitingForCapacity: all 1 agent(s) that match the build (no nodeSelector) are full; 0 build(s) ahead',
    'WaitingForCapacity: all 1 agent(s) that match the build (no nodeSelector) are full; 1 build(s) ahead',
    'WaitingForCapacity: all 1 agent(s) that match the build (no nodeSelector) are full; 2 build(s) ahead',
  ]);
  const memory = decide(
    [candidate(build('ns', 'm-0', { memory: '600Mi' })), candidate(build('ns', 'm-1', { memory: '600Mi' }), NOW + 1)],
    [agent('y', { capacity: 8, memoryBytes: 1024 * 2 ** 20, limitsDockerfileBuilds: true })],
    new Map(),
    inputs(),
  );
  t.deepEqual(
    Object.values(placedOn(memory)).map((v) => v.split(':')[0]),
    ['y', 'WaitingForCapacity'],
  );
});

test('draining and cordoned agents take nothing: AgentDraining when they are all that match', (t) => {
  const ds = decide(
    [candidate(build('ns', 'b'))],
    [agent('x', { unschedulable: 'draining' }), agent('y', { unschedulable: 'cordoned' })],
    new Map(),
    inputs(),
  );
  t.like(ds[0], {
    reason: 'AgentDraining',
    message: 'every agent that matches the build (no nodeSelector) takes no new builds: x (draining), y (cordoned)',
  });
});

test('a missing push secret holds the build, whatever the agents', (t) => {
  const ds = decide(
    [candidate(build('ns', 'b', { pushSecret: 'reg' }))],
    [agent('x')],
    new Map(),
    inputs({ missingPushSecret: (b) => b.spec.config.output.pushSecret?.name }),
  );
  t.like(ds[0], { reason: 'MissingPushSecret', message: 'push secret "reg" does not exist in namespace ns' });
});

test('affinity: the agent that built the config takes it; full, the build waits for it within the grace, then goes elsewhere', (t) => {
  const warm = agent('warm', { warmConfigs: ['ns/app'] });
  const cold = agent('cold');
  t.is(placedOn(decide([candidate(build('ns', 'b'))], [cold, warm], new Map(), inputs()))['ns.b'], 'warm');
  const full = new Map<string, Load>([['warm', { slots: 2, cpuMillis: 0, memoryBytes: 0 }]]);
  t.regex(
    placedOn(decide([candidate(build('ns', 'b'))], [cold, warm], full, inputs()))['ns.b']!,
    /^WaitingForCapacity: waiting up to 10 s for agent warm, which holds config ns\/app's cache/,
  );
  t.is(
    placedOn(decide([candidate(build('ns', 'b'), NOW - 11_000)], [cold, warm], full, inputs()))['ns.b'],
    'cold',
    'past the grace',
  );
  t.is(
    placedOn(decide([candidate(build('ns', 'b'))], [cold, warm], full, inputs({ affinity: false })))['ns.b'],
    'cold',
    'affinity off',
  );
  // Without affinity, equally loaded agents take turns: the one placed on longest ago first.
  const turns = decide(
    [candidate(build('ns', 'b'))],
    [warm, cold],
    new Map(),
    inputs({
      affinity: false,
      agentLastPlaced: new Map([
        ['warm', NOW - 10],
        ['cold', NOW - 20],
      ]),
    }),
  );
  t.is(placedOn(turns)['ns.b'], 'cold');
});

test('stopWhenFull: a pass that only places ends once no agent has a free slot, deciding nothing for the rest', (t) => {
  const builds = Array.from({ length: 5 }, (_, i) => candidate(build('ns', `b-${i}`), NOW + i));
  const all = decide(builds, [agent('x', { capacity: 2 })], new Map(), inputs());
  t.is(all.length, 5, 'a full pass decides every build');
  const placing = decide(builds, [agent('x', { capacity: 2 })], new Map(), inputs({ stopWhenFull: true }));
  t.deepEqual(placedOn(placing), { 'ns.b-0': 'x', 'ns.b-1': 'x' });
  // Builds no agent can take do not end the pass: the next one an agent can take is still placed.
  const blocked = candidate(build('ns', 'blocked', { nodeSelector: { pool: 'gpu' } }), NOW - 1);
  const past = decide([blocked, ...builds], [agent('x', { capacity: 1 })], new Map(), inputs({ stopWhenFull: true }));
  t.deepEqual(Object.keys(placedOn(past)), ['ns.blocked', 'ns.b-0']);
});

test('WarmIndex: synced with new heartbeats, it forgets what an agent no longer holds and agents that are gone', (t) => {
  const b = build('ns', 'b', { config: 'app' });
  const index = new WarmIndex();
  const x1 = agent('x', { warmConfigs: ['ns/app'] });
  const y1 = agent('y', { warmConfigs: ['ns/other', 'ns/app'] });
  const everyone = new Set(['x', 'y']);
  index.sync([x1, y1]);
  t.is(index.warmest(b, everyone)?.agent.name, 'x', 'x built it most recently');
  t.is(index.warmest(b, new Set(['y']))?.agent.name, 'y', 'only among the agents asked about');
  // x's next heartbeat no longer lists the config: y holds it now.
  index.sync([agent('x', { warmConfigs: [] }), y1]);
  t.is(index.warmest(b, everyone)?.agent.name, 'y');
  // y is gone.
  index.sync([agent('x', { warmConfigs: [] })]);
  t.is(index.warmest(b, everyone), undefined);
  // A base image counts when no agent built the config.
  index.sync([agent('z', { warmImages: ['r/builder:1'] })]);
  t.like(index.warmest(build('ns', 's', { s2i: true }), new Set(['z'])), { what: 'base image r/builder:1' });
});

test("PlacementIndex: an agent's load is its placed and running builds, kept as builds move on; waiting builds keep their place", (t) => {
  const index = new PlacementIndex();
  /** The waiting builds of a namespace, group by group (a group: one kind of build), in queued order. */
  const queued = (namespace: string) =>
    [...index.waitingGroups.values()].filter((g) => g.namespace === namespace).map((g) => [...g.builds.keys()]);
  const entry = (b: Build, status: Partial<Build['status']>) => ({
    value: { ...b, status: { ...b.status, ...status } } as Build,
    revision: 1,
  });
  const a = build('ns', 'a', { cpu: '500m' });
  const b = build('ns', 'b');
  const c = build('other', 'c');
  index.held('ns.a', entry(a, {}));
  index.held('ns.b', entry(b, {}));
  index.held('other.c', entry(c, {}));
  t.deepEqual([...index.waiting.keys()], ['ns.a', 'ns.b', 'other.c']);
  t.deepEqual(queued('ns'), [['ns.a'], ['ns.b']], 'a asks for CPU: another kind of build than b');
  const gpu = build('ns', 'gpu', { nodeSelector: { pool: 'gpu' } });
  index.held('ns.gpu', entry(gpu, {}));
  t.deepEqual(queued('ns'), [['ns.a'], ['ns.b'], ['ns.gpu']]);
  index.held('ns.gpu', undefined);
  // A reason written to a waiting build does not move it back in its queue.
  const b2 = build('ns', 'b2');
  index.held('ns.b2', entry(b2, {}));
  index.held('ns.b', entry(b, { reason: 'WaitingForCapacity', message: '1 ahead' }));
  t.deepEqual(queued('ns'), [['ns.a'], ['ns.b', 'ns.b2']]);
  index.held('ns.b2', undefined);
  const placement = { agent: 'x', node: 'n', timestamp: new Date(NOW).toISOString() };
  index.held('ns.a', entry(a, { placement }));
  t.deepEqual(index.load('x'), { slots: 1, cpuMillis: 500, memoryBytes: 0 });
  t.deepEqual([...index.placed.keys()], ['ns.a']);
  t.deepEqual(queued('ns'), [['ns.b']]);
  index.held('ns.a', entry(a, { phase: 'Running', agent: 'x', placement: undefined }));
  t.deepEqual(index.load('x'), { slots: 1, cpuMillis: 500, memoryBytes: 0 }, 'claimed: still one slot, not two');
  t.is(index.placed.size, 0);
  index.held('ns.a', undefined);
  t.deepEqual(index.load('x'), { slots: 0, cpuMillis: 0, memoryBytes: 0 }, 'ended: the slot is free');
  index.held('other.c', undefined);
  t.deepEqual(queued('other'), []);
});

test('UnclaimedPlacements: an agent is named the placements on it unclaimed for the reminder time, until they are claimed, moved or ended', (t) => {
  let listener: ((key: string, e: { value: Build; revision: number } | undefined) => void) | undefined;
  const unclaimed = new UnclaimedPlacements({ onHeld: (l) => (listener = l) });
  const placedOn = (b: Build, agent: string, at: number, placements = 1): Build => ({
    ...b,
    status: {
      ...b.status,
      placement: { agent, node: `node-${agent}`, timestamp: new Date(at).toISOString() },
      placements,
    },
  });
  const a = build('ns', 'a-1');
  const b = build('ns', 'b-1');
  listener!('ns.a-1', { value: placedOn(a, 'x', NOW), revision: 2 });
  listener!('ns.b-1', { value: placedOn(b, 'x', NOW + 1500), revision: 2 });
  listener!('ns.c-1', { value: build('ns', 'c-1'), revision: 1 });

  t.deepEqual(unclaimed.due('x', NOW + 1000, 2000), [], 'too recent');
  t.deepEqual(unclaimed.due('x', NOW + 2000, 2000), [{ namespace: 'ns', build: 'a-1', attempt: 1, placement: 1 }]);
  t.is(unclaimed.due('x', NOW + 4000, 2000).length, 2);
  t.deepEqual(unclaimed.due('y', NOW + 4000, 2000), [], 'another agent is named none');

  // Taken back and placed on y: named to y, with its new placement number.
  listener!('ns.a-1', { value: placedOn(a, 'y', NOW + 3000, 2), revision: 3 });
  t.deepEqual(
    unclaimed.due('x', NOW + 6000, 2000).map((j) => j.build),
    ['b-1'],
  );
  t.deepEqual(unclaimed.due('y', NOW + 6000, 2000), [{ namespace: 'ns', build: 'a-1', attempt: 1, placement: 2 }]);
  // Claimed (Running), and ended: named no more.
  listener!('ns.a-1', { value: { ...a, status: { ...a.status, phase: 'Running', agent: 'y' } }, revision: 4 });
  listener!('ns.b-1', undefined);
  t.deepEqual(unclaimed.due('x', NOW + 9000, 2000), []);
  t.deepEqual(unclaimed.due('y', NOW + 9000, 2000), []);
});
