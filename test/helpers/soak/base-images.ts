import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { startPrivateDaemon } from '../private-daemon.js';
import { tarball } from '../tarball.js';
import { TeardownStack } from '../teardowns.js';

/**
 * Base images of the given sizes in the registry, made locally (no internet): the seeded busybox
 * with a file of zeros (`RUN dd`) and a line naming the run, so each run's layers are new.
 * Zeros take their full size in a daemon's overlay but compress to almost nothing in the
 * registry, so pulling one after GC removed it costs the disk, not the network. Built on a
 * private dockerd started for the purpose and stopped after: nothing is left on the shared one.
 * @returns the references, in the order of `sizesMiB`.
 */
export async function pushBaseImages(o: {
  registry: string;
  busybox: string;
  /** Repository prefix, unique to the run ("soak/<run>"). */
  repository: string;
  sizesMiB: number[];
}): Promise<string[]> {
  const stack = new TeardownStack();
  try {
    const { docker } = await startPrivateDaemon(stack);
    const refs: string[] = [];
    for (const [i, mib] of o.sizesMiB.entries()) {
      const ref = `${o.registry}/${o.repository}/base-${i}:${mib}m`;
      const dockerfile = `FROM ${o.busybox}\nRUN dd if=/dev/zero of=/base bs=1M count=${mib} 2>/dev/null && echo ${o.repository} ${i} >> /base\n`;
      const context = await tarball([{ name: 'Dockerfile', content: dockerfile }]);
      await follow(docker, await docker.buildImage(Readable.from(context), { t: ref }), `building ${ref}`);
      const [repo, tag] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
      await follow(docker, await docker.getImage(repo).push({ tag, authconfig: {} }), `pushing ${ref}`);
      refs.push(ref);
    }
    return refs;
  } finally {
    await stack.run();
  }
}

/** Waits for a build's or push's progress stream to end; rejects with the daemon's error in it. */
async function follow(docker: Docker, stream: NodeJS.ReadableStream, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
        const failed = err?.message ?? events.find((e) => e.error)?.error;
        if (failed) reject(new Error(`${what}: ${failed}`));
        else resolve();
      },
    ),
  );
}
