import { readFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { testEnvironment } from './environment.js';

/** The static docker CLI of this machine, put into builder images that drive a daemon. */
export const DOCKER_CLI = '/usr/local/bin/docker';

/**
 * Builds a custom builder image on the environment's daemon and pushes it to the environment's
 * registry: the base image (busybox) with `script` as its entrypoint, and with `dockerCli` the
 * machine's static docker CLI at /usr/local/bin/docker. Returns its reference.
 */
export async function pushBuilderImage(
  docker: Docker,
  reference: string,
  script: string,
  o: { dockerCli?: boolean } = {},
): Promise<string> {
  const context = pack();
  const lines = [`FROM ${testEnvironment().baseImage}`, 'COPY build.sh /build.sh'];
  if (o.dockerCli) {
    lines.push('COPY docker /usr/local/bin/docker');
    context.entry({ name: 'docker', mode: 0o755 }, await readFile(DOCKER_CLI));
  }
  lines.push('ENTRYPOINT ["/bin/sh", "/build.sh"]');
  context.entry({ name: 'build.sh', mode: 0o755 }, script);
  context.entry({ name: 'Dockerfile' }, lines.join('\n') + '\n');
  context.finalize();
  await follow(docker, await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: reference }));
  await follow(docker, await docker.getImage(reference).push({ authconfig: {} }));
  return reference;
}

/** Waits for a daemon's progress stream to end; an error in it is thrown. */
async function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (err, out: { error?: string }[]) => {
        const failed = err ?? out.find((o) => o.error)?.error;
        if (failed) reject(failed instanceof Error ? failed : new Error(String(failed)));
        else resolve();
      },
      () => {},
    ),
  );
}
