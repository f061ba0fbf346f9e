import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { LOGS_STREAM, logSubject } from '../../common/nats/logs.js';
import type { Build } from '../../api/types.js';

/**
 * Removes builds' logs from the log stream, by subject (`slipway.logs.<ns>.<build>.<attempt>`,
 * every attempt the build had). Purging a subject that holds nothing is no error, so this is
 * safe to repeat, and to run from every coordinator at once. Only for builds that are gone:
 * a deleted build's name is never given again, so nothing writes those subjects afterwards.
 */
export class LogPurger {
  private jsm?: Promise<JetStreamManager>;

  constructor(private readonly nc: NatsConnection) {}

  /** Purges every attempt's log of `build`; resolves with the number of messages removed. */
  async purge(build: Build): Promise<number> {
    this.jsm ??= jetstreamManager(this.nc);
    const jsm = await this.jsm;
    let purged = 0;
    // A build that never left New has attempt 0 and no log; one past it has a log per attempt.
    for (let attempt = 1; attempt <= build.status.attempt; attempt++) {
      const filter = logSubject(build.metadata.namespace, build.metadata.name, attempt);
      purged += (await jsm.streams.purge(LOGS_STREAM, { filter })).purged;
    }
    return purged;
  }
}
