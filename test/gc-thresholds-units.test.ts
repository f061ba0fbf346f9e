import test from 'ava';
import { gcCapacityBytes, gcThresholds, resolveAgentConfig, type AgentConfig } from '../agent/config.js';
import type { DiskUsage } from '../agent/container-runtime/types.js';
import { daemonHeldBytes, gcLevels, parseCapacity } from '../agent/gc/thresholds.js';
import { InvalidInputError } from '../common/errors.js';

const GI = 2 ** 30;

test('percentage thresholds are of the capacity; byte thresholds are bytes whatever the total', (t) => {
  const pct = { high: { percent: 85 }, low: { percent: 80 } };
  t.deepEqual(gcLevels(pct, 43 * GI, 50 * GI), { used: 43 * GI, high: 42.5 * GI, low: 40 * GI });
  t.deepEqual(gcLevels({ high: { percent: 100 }, low: { percent: 0 } }, 7, 1000), { used: 7, high: 1000, low: 0 });
  const bytes = { high: { bytes: 20 * GI }, low: { bytes: 15 * GI } };
  t.deepEqual(gcLevels(bytes, 3, 50 * GI), { used: 3, high: 20 * GI, low: 15 * GI });
  t.deepEqual(gcLevels(bytes, 3), { used: 3, high: 20 * GI, low: 15 * GI });
  t.throws(() => gcLevels(pct, 1), { message: /need a capacity or a filesystem/ });
  t.throws(() => gcLevels({ high: { percent: 85 }, low: { bytes: 1 } }, 1, 10), {
    message: /must both be percentages or both bytes/,
  });
});

test("a daemon holds its layers, containers' writable layers, build cache beyond the layers, and volumes", (t) => {
  const df: DiskUsage = { layersBytes: 1000, containersBytes: 200, buildCacheBytes: 30, volumesBytes: 4, images: [] };
  t.is(daemonHeldBytes(df), 1234);
  // 1234 bytes of a 1400-byte capacity is above 85% (1190) and collects down to 80% (1120).
  const levels = gcLevels({ high: { percent: 85 }, low: { percent: 80 } }, daemonHeldBytes(df), 1400);
  t.true(levels.used > levels.high);
  t.is(levels.low, 1120);
});

test('a capacity is a quantity of at least one byte, in whole bytes', (t) => {
  t.is(parseCapacity('50Gi'), 50 * GI);
  t.is(parseCapacity('1.5k'), 1500);
  t.is(parseCapacity('1'), 1);
  t.regex(parseCapacity('lots') as string, /"lots" is not a Kubernetes quantity/);
  t.regex(parseCapacity('500m') as string, /less than one byte/);
  t.regex(parseCapacity('-5Gi') as string, /less than one byte/);
});

test('the capacity setting: refused when malformed, with byte thresholds or with a filesystem, naming the field', (t) => {
  const refused = (settings: Partial<AgentConfig>) =>
    t.throws(() => resolveAgentConfig(settings), { instanceOf: InvalidInputError })!.message;
  t.regex(refused({ gcCapacity: 'big' }), /SLIPWAY_GC_CAPACITY: "big" is not a Kubernetes quantity/);
  t.regex(
    refused({ gcCapacity: '50Gi', gcHighThreshold: '20Gi', gcLowThreshold: '10Gi' }),
    /SLIPWAY_GC_CAPACITY: is what percentage thresholds are of; SLIPWAY_GC_HIGH_THRESHOLD is a number of bytes/,
  );
  t.regex(
    refused({ gcCapacity: '50Gi', gcFilesystem: '/var/lib/docker' }),
    /SLIPWAY_GC_FILESYSTEM: cannot be set with SLIPWAY_GC_CAPACITY/,
  );
  t.regex(
    refused({ executor: 'dind', dockerPrivate: true }),
    /SLIPWAY_DOCKER_PRIVATE: is only used with SLIPWAY_EXECUTOR=host/,
  );

  const c = resolveAgentConfig({ gcCapacity: '50Gi', dockerPrivate: true });
  t.is(gcCapacityBytes(c), 50 * GI);
  t.deepEqual(gcThresholds(c), { high: { percent: 85 }, low: { percent: 80 } });
  t.is(gcCapacityBytes(resolveAgentConfig({})), undefined);
});
