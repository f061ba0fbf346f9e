import { randomBytes } from 'node:crypto';
import { stepOutput } from '../test/helpers/log-lines.js';
import { addAgent, dockerBuildConfig } from '../test/helpers/slipway.js';
import { onSlipway } from './lib/environment.js';
import { ms, type BenchResult } from './lib/report.js';

/**
 * A build printing `lines` lines, followed from the moment it starts by a client streaming its
 * log (StreamBuildLogs, follow). Lines/s as the follower received them, and its lag at the end:
 * from the build's completion to the follower's last line (negative: it had every line first).
 * The first rate's window opens at the log's first line ("Fetching …"), so it also holds the
 * fetch and the build's start; the step's own rate and that lead-in are shown apart.
 */
export async function logThroughput(o: { lines: number }): Promise<BenchResult> {
  return onSlipway(async ({ stack, env, git, sw }) => {
    await addAgent(stack, sw, { concurrency: 1 });
    const repo = await git.createRepo('chatty', {
      Dockerfile: `FROM ${env.baseImage}\nRUN echo run-${randomBytes(4).toString('hex')} && seq 1 ${o.lines}\n`,
    });
    await sw.client.createBuildConfig(dockerBuildConfig('chatty', repo.uri, `${env.registry}/bench/chatty:latest`));
    const b = await sw.client.startBuild({ namespace: 'default', configName: 'chatty' });
    const name = b.metadata!.name;

    let received = 0;
    let seqLines = 0;
    const numbers: number[] = [];
    let lineNumberErrors = 0;
    let previousLine = 0;
    let first = Number.NaN;
    let last = Number.NaN;
    // When the first and the last printed line came: the step's own output, without the fetch and
    // the build's start before it (which the first row's window holds).
    let firstPrinted = Number.NaN;
    let lastPrinted = Number.NaN;
    for await (const line of sw.client.streamBuildLogs({ namespace: 'default', name, follow: true })) {
      const now = Date.now();
      if (received === 0) first = now;
      last = now;
      received++;
      if (line.line !== previousLine + 1) lineNumberErrors++;
      previousLine = line.line;
      // The step's output as BuildKit's plain progress logs it: "#5 0.512 1234".
      const printed = stepOutput(line.text);
      if (printed !== undefined && /^\d+$/.test(printed)) {
        seqLines++;
        numbers.push(Number(printed));
        if (seqLines === 1) firstPrinted = now;
        lastPrinted = now;
      }
    }
    const final = await sw.client.waitForBuild('default', name);
    const problems: string[] = [];
    if (final.status!.phase !== 'Complete') problems.push(`${name}: ${final.status!.phase} ${final.status!.message}`);
    if (seqLines !== o.lines) problems.push(`the follower got ${seqLines} of the ${o.lines} printed lines`);
    const outOfOrder = numbers.filter((n, i) => n !== i + 1).length;
    if (outOfOrder > 0)
      problems.push(
        `${outOfOrder} printed lines came out of order or twice (first: ${numbers.find((n, i) => n !== i + 1)} at ${numbers.findIndex((n, i) => n !== i + 1)})`,
      );
    if (lineNumberErrors > 0) problems.push(`${lineNumberErrors} log lines did not follow their predecessor's number`);
    const perSecond = (received / (last - first)) * 1000;
    const lag = last - new Date(final.status!.completionTimestamp!).getTime();
    const printedPerSecond = (seqLines / (lastPrinted - firstPrinted)) * 1000;
    return {
      name: 'log throughput',
      rows: [
        { metric: `lines/s to a follower (${received} lines)`, value: perSecond.toFixed(0) },
        { metric: 'follower lag at the end', value: ms(lag) },
        { metric: `lines/s while the step prints (${seqLines} lines)`, value: printedPerSecond.toFixed(0) },
        { metric: 'first log line to the first printed line', value: ms(firstPrinted - first) },
      ],
      data: {
        received,
        seqLines,
        firstToLastMs: last - first,
        perSecond,
        lagMs: lag,
        printedMs: lastPrinted - firstPrinted,
        printedPerSecond,
        beforePrintingMs: firstPrinted - first,
      },
      problems,
    };
  });
}
