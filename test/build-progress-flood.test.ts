import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { DockerRuntime } from '../agent/container-runtime/docker-runtime.js';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';

const env = testEnvironment();
const LINES = 600_000;

// dockerd 20.10's BuildKit, handed a progress report with over 1 MiB of a step's output, sends
// empty reports for good once the report's pieces are out: no DONE, no end of the response. Such a
// report forms when the build's reader falls behind a step that prints fast; here the reader stops
// for two seconds at the step's first line while `seq` prints 4.5 MB. The build must still end.
test('a build ends when its reader falls behind a step that prints megabytes at once', async (t) => {
  t.timeout(120_000);
  const runtime = new DockerRuntime(env.dockerHost);
  const docker = environmentDocker();
  for (let round = 1; round <= 2; round++) {
    const dir = await mkdtemp(path.join(tmpdir(), 'slipway-flood-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const tag = `slipway-test/flood-${randomBytes(4).toString('hex')}:latest`;
    t.teardown(() =>
      docker
        .getImage(tag)
        .remove({ force: true })
        .catch(() => {}),
    );
    await writeFile(
      path.join(dir, 'Dockerfile'),
      `FROM ${env.baseImage}\nRUN echo run-${randomBytes(4).toString('hex')} && seq 1 ${LINES}\n`,
    );

    let image: string | undefined;
    let last = '';
    let paused = false;
    for await (const event of runtime.buildImage({
      contextDir: dir,
      dockerfile: 'Dockerfile',
      tag,
      buildArgs: {},
      noCache: false,
      labels: {},
    })) {
      if (event.kind === 'error') t.fail(`round ${round}: the build failed: ${event.message}`);
      if (event.kind === 'image') image = event.id;
      if (event.kind !== 'lines') continue;
      for (const line of event.lines) {
        const printed = /^#\d+ \d+\.\d+ (\d+)$/.exec(line)?.[1];
        if (printed) last = printed;
      }
      if (!paused && last !== '') {
        paused = true;
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }

    // Not every line: those the daemon held back when it began the flood are lost.
    t.not(last, '', `round ${round}: the step's output is in the log`);
    t.truthy(image, `round ${round}: the daemon named the image`);
    t.is(image, (await docker.getImage(tag).inspect()).Id, `round ${round}: the tag is the built image`);
  }
});
