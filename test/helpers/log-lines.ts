import type { SlipwayClient } from '../../cli/client.js';
import { eventually } from './eventually.js';

/**
 * Waits until the build's log (read from the start, again every 100 ms) has a line matching
 * `pattern`, and returns that line's match. Fails after `timeoutMs` (default 2 min: a build may
 * first pull its base image), naming the build and the pattern.
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
    { timeoutMs },
  );
}

/**
 * What a build step printed, from a log line as BuildKit's plain progress writes it
 * (`#5 0.512 text` → `text`); undefined for any other line (a step's header, DONE, git's output).
 */
export function stepOutput(line: string): string | undefined {
  return /^#\d+ \d+\.\d{3} (.*)$/.exec(line)?.[1];
}
