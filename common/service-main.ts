import { errorMessage } from './errors.js';

/**
 * Runs a long-lived service as a process: starts it, stops it once on SIGTERM or SIGINT, and
 * exits 0 after a clean stop, 1 when it could not start or stop.
 */
export function runServiceMain(name: string, start: () => Promise<{ stop(): Promise<void> }>): void {
  const say = (level: string, msg: string, fields: Record<string, unknown> = {}) =>
    process.stderr.write(
      JSON.stringify({ time: new Date().toISOString(), level, msg, component: name, ...fields }) + '\n',
    );
  start().then(
    (service) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        say('info', 'stopping', { signal });
        service.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            say('error', 'stop failed', { error: errorMessage(err) });
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    },
    (err: unknown) => {
      say('error', `${name} failed to start`, { error: errorMessage(err) });
      process.exit(1);
    },
  );
}
