import { choice, file, list, text } from './setting.js';

/** Settings every process that talks to NATS declares alike, and the log level. */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const logLevel = choice(LOG_LEVELS, {
  env: 'SLIPWAY_LOG_LEVEL',
  default: 'info',
  doc: 'Least severe log lines written.',
  chart: 'logLevel',
});

export const natsServers = list({
  env: 'SLIPWAY_NATS_URL',
  default: ['nats://127.0.0.1:4222'],
  minItems: 1,
  doc: 'NATS server URLs.',
  chart: 'nats.url or nats.urlSecret',
});

export const natsUser = text({
  env: 'SLIPWAY_NATS_USER',
  default: '',
  doc: 'NATS user (with SLIPWAY_NATS_PASSWORD); none: no user. Never logged.',
  chart: 'natsAuth.coordinator, natsAuth.agent',
});
export const natsPassword = text({
  env: 'SLIPWAY_NATS_PASSWORD',
  default: '',
  secret: true,
  doc: 'NATS password (with SLIPWAY_NATS_USER). Never logged.',
  chart: 'natsAuth.coordinator, natsAuth.agent',
});
export const natsCredsFile = file({
  env: 'SLIPWAY_NATS_CREDS',
  default: '',
  doc: 'A NATS creds file (user JWT and nkey seed), instead of user and password.',
  chart: 'natsAuth.*.type: creds',
});
