import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { testEnvironment } from './environment.js';
import { eventually } from './eventually.js';

/** The environment's Docker daemon, for checking what builds did on it. */
export function environmentDocker(): Docker {
  return new Docker({ socketPath: testEnvironment().dockerHost.replace(/^unix:\/\//, '') });
}

/** Pulls `reference` from its registry, runs it with no arguments and returns what it printed. */
export async function pullAndRun(docker: Docker, reference: string): Promise<string> {
  const pull = await docker.pull(reference);
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(pull, (err) => (err ? reject(err) : resolve(undefined))),
  );
  const container = await docker.createContainer({ Image: reference, Tty: false, HostConfig: { NetworkMode: 'none' } });
  try {
    await container.start();
    await container.wait();
    const logs = await container.logs({ stdout: true, stderr: true });
    return demux(logs as unknown as Buffer);
  } finally {
    await container.remove({ force: true });
  }
}

/** Docker's multiplexed log format: 8-byte frame headers before each chunk. */
export function demux(buf: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= buf.length;) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString();
    i += 8 + size;
  }
  return out;
}

/** Every container on the daemon, running or not. */
export async function allContainerIds(docker: Docker): Promise<Set<string>> {
  return new Set((await docker.listContainers({ all: true })).map((c) => c.Id));
}

export interface DaemonEvent {
  type: string;
  action: string;
  /** The actor: an image's reference or id, a container's id. */
  id?: string;
  attributes: Record<string, string>;
  /** When the daemon reported it (ms since the epoch). */
  timeMs?: number;
}

/**
 * What the daemon reported between `since` and now. The daemon replays only its last 256 events,
 * so this suits a daemon a test started itself (a per-agent private daemon), not a busy one.
 */
export async function daemonEventsSince(docker: Docker, since: Date): Promise<DaemonEvent[]> {
  const stream = (await docker.getEvents({
    since: Math.floor(since.getTime() / 1000),
    until: Math.ceil(Date.now() / 1000),
  })) as unknown as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return parseEvents(text);
}

function parseEvents(text: string): DaemonEvent[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map(
      (l) =>
        JSON.parse(l) as {
          Type: string;
          Action: string;
          Actor: { ID?: string; Attributes: Record<string, string> };
          timeNano?: number;
        },
    )
    .map((e) => ({
      type: e.Type,
      action: e.Action,
      id: e.Actor?.ID,
      attributes: e.Actor?.Attributes ?? {},
      timeMs: e.timeNano !== undefined ? e.timeNano / 1e6 : undefined,
    }));
}

/**
 * Records what the daemon reports from now until `stop`. A live subscription, because the
 * daemon replays only its last 256 events to a `since` query: too few to count 20 builds.
 */
export async function recordDaemonEvents(docker: Docker): Promise<{ stop(): Promise<DaemonEvent[]> }> {
  const stream = (await docker.getEvents()) as unknown as NodeJS.ReadableStream & { destroy(): void };
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return {
    async stop() {
      // The daemon reports its events in order: once an event of ours arrives (a volume made for
      // it), every event before it has. That marker and what follows it are not returned.
      const marker = `slipway-test-mark-${randomUUID()}`;
      await docker.createVolume({ Name: marker });
      try {
        await eventually(`the daemon to report the volume ${marker}`, () => text.includes(marker), {
          timeoutMs: 10_000,
          intervalMs: 20,
        });
      } finally {
        stream.destroy();
        await docker
          .getVolume(marker)
          .remove()
          .catch(() => {});
      }
      return parseEvents(text.slice(0, text.lastIndexOf('\n', text.indexOf(marker)) + 1));
    },
  };
}

/** Whether the daemon has an image by this reference or id. */
export async function imageExists(docker: Docker, reference: string): Promise<boolean> {
  return docker
    .getImage(reference)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}
