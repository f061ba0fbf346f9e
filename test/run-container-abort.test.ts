import { randomBytes } from 'node:crypto';
import test from 'ava';
import { DockerRuntime } from '../agent/container-runtime/docker-runtime.js';
import { testEnvironment } from './helpers/environment.js';

// A cancel that came while a builder's container was being made (custom strategy, S2I) was
// missed: an already-aborted signal fires no listener, and one aborted before the container ran
// killed nothing, so the container then ran its whole command (CI saw a cancelled builder sleep
// on for ten minutes). A real daemon and a real container: no mock.

/** A container made (not started) on the test daemon that would sleep ten minutes. */
async function sleeper(): Promise<{ runtime: DockerRuntime; label: string; id: string }> {
  const env = testEnvironment();
  const runtime = new DockerRuntime(env.dockerHost);
  const label = `run-abort-${randomBytes(4).toString('hex')}`;
  const id = await runtime.createContainer({
    image: env.baseImage,
    cmd: ['sleep', '600'],
    labels: { 'slipway.test/run-abort': label },
  });
  return { runtime, label, id };
}

test.serial('a container whose run was cancelled before it started is never run', async (t) => {
  const { runtime, label, id } = await sleeper();
  t.teardown(() => runtime.removeContainer(id).catch(() => {}));
  const cancelled = AbortSignal.abort();
  const run = runtime.runContainer(id, { onStdout: () => {}, onStderr: () => {}, signal: cancelled });
  // Bounded: without the check the container runs its ten minutes' sleep.
  const settled = await Promise.race([
    run.then(
      () => 'exited',
      () => 'refused',
    ),
    new Promise((r) => setTimeout(() => r('still running'), 20_000).unref()),
  ]);
  t.is(settled, 'refused');
  const [listed] = await runtime.listContainers({ 'slipway.test/run-abort': label });
  t.not(listed?.state, 'running');
});

test.serial('a run cancelled while it attached leaves no socket open behind it', async (t) => {
  const { runtime, id } = await sleeper();
  const pipes = () => process.getActiveResourcesInfo().filter((r) => r === 'PipeWrap').length;
  const before = pipes();
  const cancel = new AbortController();
  const run = runtime.runContainer(id, { onStdout: () => {}, onStderr: () => {}, signal: cancel.signal });
  setImmediate(() => cancel.abort()); // the attach is under way
  t.is(
    await run.then(
      () => 'ran',
      (err: { name?: string }) => err.name,
    ),
    'AbortError',
  );
  await runtime.removeContainer(id);
  // Left open, the attach kept the agent (and this test's process) alive after everything ended.
  // Serial tests: no other test of this file opens or closes a socket meanwhile; one of the
  // daemon client's own closing late counts below zero, not as a leak.
  let left = pipes() - before;
  for (let i = 0; i < 50 && left > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = pipes() - before;
  }
  t.true(left <= 0, `${left} socket(s) left open`);
});
