import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { agentConsumerName, agentJobSubject, JOBS_STREAM } from '../../../common/nats/names.js';
import type { Build__Output } from '../../../proto/generated/slipway/v1/Build.js';

/**
 * What a failing run knows about its unfinished builds, to report a bug precisely: each one's
 * status, whether its job is in the job stream, every log line of the agents and coordinators
 * that names it, and the job consumer's counters.
 */
export async function diagnoseOpenBuilds(o: {
  natsUrls: string[];
  /** The agents' names: their job consumers are described. */
  agents: string[];
  open: { name: string; build?: Build__Output }[];
  agentLogs: Record<string, unknown>[];
  coordinatorLogs: Record<string, unknown>[];
  /** Builds described in full; the rest are only counted. */
  limit: number;
}): Promise<string> {
  if (o.open.length === 0) return '';
  const lines: string[] = [
    `diagnosis of ${o.open.length} unfinished build(s) (first ${Math.min(o.limit, o.open.length)} in full):`,
  ];
  const nc = await connect({ servers: o.natsUrls, timeout: 5000 }).catch(() => undefined);
  try {
    const jsm = nc ? await jetstreamManager(nc) : undefined;
    if (jsm) {
      const stream = await jsm.streams.info(JOBS_STREAM).catch((err: Error) => err);
      lines.push(
        stream instanceof Error
          ? `  job stream: ${stream.message}`
          : `  job stream: ${stream.state.messages} messages, first seq ${stream.state.first_seq}, last seq ${stream.state.last_seq}`,
      );
      for (const agent of o.agents) {
        const consumer = await jsm.consumers.info(JOBS_STREAM, agentConsumerName(agent)).catch((err: Error) => err);
        lines.push(
          consumer instanceof Error
            ? `  ${agent}'s job consumer: ${consumer.message}`
            : `  ${agent}'s job consumer: pending ${consumer.num_pending}, ack pending ${consumer.num_ack_pending}, redelivered ${consumer.num_redelivered}, waiting pulls ${consumer.num_waiting}, delivered stream seq ${consumer.delivered.stream_seq}, ack floor stream seq ${consumer.ack_floor.stream_seq}`,
        );
      }
    }
    for (const { name, build } of o.open.slice(0, o.limit)) {
      const s = build?.status;
      lines.push(
        `  ${name}: ${s ? `${s.phase} attempt ${s.attempt}, queued ${s.queuedTimestamp || '-'}, started ${s.startTimestamp || '-'}, agent ${s.agent || '-'}, reason ${s.reason || '-'}, "${s.message}"` : 'not in the store'}`,
      );
      if (jsm) {
        const placed = s?.placedAgent;
        const job = await (
          placed
            ? jsm.streams.getMessage(JOBS_STREAM, { last_by_subj: agentJobSubject(placed, 'default', name) })
            : Promise.resolve(null)
        ).then(
          (m) =>
            m
              ? `in ${placed}'s queue at seq ${m.seq}: ${m.string()}`
              : placed
                ? `not in ${placed}'s queue`
                : 'not placed',
          (err: Error) => `not in the job stream (${err.message})`,
        );
        lines.push(`    job: ${job}`);
      }
      const mentions = (logs: Record<string, unknown>[]) =>
        logs.filter((l) => JSON.stringify(l).includes(`/${name}"`) || JSON.stringify(l).includes(`"${name}"`));
      for (const l of [
        ...mentions(o.coordinatorLogs).map((l) => ['coordinator', l] as const),
        ...mentions(o.agentLogs).map((l) => ['agent', l] as const),
      ]) {
        lines.push(`    ${l[0]}: ${JSON.stringify(l[1])}`);
      }
    }
  } finally {
    await nc?.close();
  }
  return lines.join('\n');
}
