import type { SlipwayClient } from '../../cli/client.js';
import { eventually } from './eventually.js';

/**
 * Waits until the build's log (read from the start, again every 100 ms) has a line matching
 * `pattern`, and returns that line's match. Fails after `timeoutMs` (default 2 min: a build may
 * first pull its base image), naming the build, the pattern, the build's phase and its last lines.
 */
export async function untilLogLine(
  client: SlipwayClient,
  name: string,
  pattern: RegExp,
  timeoutMs = 120_000,
): Promise<RegExpExecArray> {
  return eventually(
    `a line matching ${pattern} in the log of build ${name}`,
    async () => {
      for await (const l of client.streamBuildLogs({ namespace: 'default', name })) {
        const m = pattern.exec(l.text);
        if (m) return m;
      }
      return undefined;
    },
    { timeoutMs, detail: () => lastSeen(client, name) },
  );
}

/** The build's phase, reason and message, and its log's last 10 lines, for a failed wait's message. */
async function lastSeen(client: SlipwayClient, name: string): Promise<string> {
  try {
    const status = (await client.getBuild('default', name)).status!;
    const lines: string[] = [];
    for await (const l of client.streamBuildLogs({ namespace: 'default', name })) lines.push(l.text);
    return [`${status.phase}/${status.reason} ${status.message}`, ...lines.slice(-10)].join('\n');
  } catch (err) {
    return `build ${name} unreadable: ${(err as Error).message}`;
  }
}

/**
 * What a build step printed, from a log line as BuildKit's plain progress writes it
 * (`#5 0.512 text` → `text`); undefined for any other line (a step's header, DONE, git's output).
 */
export function stepOutput(line: string): string | undefined {
  return /^#\d+ \d+\.\d{3} (.*)$/.exec(line)?.[1];
}

/**
 * Waits until a build step of build `name` has printed the line `marker` (in BuildKit's plain
 * progress, `#7 0.512 <marker>`): the step is running. Make the marker unique to the test
 * (`started-1a2b3c4d`), so no other line, git's output or the step's header, can match.
 */
export async function untilStepPrinted(
  client: SlipwayClient,
  name: string,
  marker: string,
  timeoutMs?: number,
): Promise<void> {
  const escaped = marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await untilLogLine(client, name, new RegExp(`^#\\d+ \\S+ ${escaped}$`), timeoutMs);
}
