import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { parseAllDocuments } from 'yaml';
import { platformBuildOf } from '../api/platforms.js';
import { InvalidInputError } from '../common/errors.js';
import { parseBuildConfigDocument } from '../api/validation.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import { SlipwayClient } from './client.js';
import { packContextDir } from './context-archive.js';
import { buildDuration, describeBuild, formatAge, formatBytes, longestStageCell, table } from './format.js';

/** Environment variables the CLI reads. */
export const CLI_ENV = {
  server: 'SLIPWAY_ADDR',
  namespace: 'SLIPWAY_NAMESPACE',
  ca: 'SLIPWAY_CA',
  token: 'SLIPWAY_TOKEN',
} as const;

const USAGE = `usage: slipway [--server HOST:PORT] [--ca FILE] [--token TOKEN] [-n NAMESPACE] COMMAND

commands:
  apply -f FILE                      create or update the BuildConfigs in FILE (YAML or JSON)
  start CONFIG [--ref REF] [--image IMAGE] [--follow] [--from-dir DIR | --from-archive FILE]
                                     start a build; --follow waits and exits non-zero unless it completes;
                                     --from-dir/--from-archive upload the build context (tar or tar.gz)
  get buildconfigs|bc [NAME] [--chunk-size N]
                                     list BuildConfigs
  get builds|bld [NAME] [--config CONFIG] [--chunk-size N]
                                     list Builds; lists are read N a call (default 500, at most 1000)
  describe build NAME                everything about one build
  logs BUILD [-f] [--from N] [--platform P]
                                     the build's log; -f follows it and exits with the build's outcome;
                                     of a build of several platforms, the log of platform P (e.g. linux/arm64)
  cancel BUILD                       stop a build (New, Pending or Running)
  create secret docker-registry NAME --registry R --username U --password-stdin
                                     registry credentials for output.pushSecret (stored encrypted)
  create secret basic-auth NAME --username U --password-stdin
                                     git credentials (password or token) for source.sourceSecret
  create secret ssh-auth NAME --ssh-privatekey FILE [--known-hosts FILE]
                                     a deploy key for git over ssh (source.sourceSecret)
  create secret webhook NAME --value-stdin
                                     the secret a webhook trigger's deliveries carry
  create secret opaque NAME --value-stdin | --from-file FILE
                                     a build secret's value (strategy.docker.secrets); a file is taken byte for byte
  delete buildconfig NAME            delete a BuildConfig (its builds stay)

The server defaults to $${CLI_ENV.server} or 127.0.0.1:7070; the namespace to $${CLI_ENV.namespace} or "default".
--ca (or $${CLI_ENV.ca}) is the CA file of a coordinator serving TLS; --token (or $${CLI_ENV.token}) a bearer
token from its token file (prefer the variable: arguments show in the process list).`;

class UsageError extends Error {}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Runs one CLI invocation; returns the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        ca: { type: 'string' },
        token: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        filename: { type: 'string' },
        ref: { type: 'string' },
        image: { type: 'string' },
        config: { type: 'string' },
        'chunk-size': { type: 'string' },
        follow: { type: 'boolean', short: 'F' },
        f: { type: 'boolean' },
        from: { type: 'string' },
        platform: { type: 'string' },
        registry: { type: 'string' },
        username: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        'value-stdin': { type: 'boolean' },
        'from-dir': { type: 'string' },
        'ssh-privatekey': { type: 'string' },
        'known-hosts': { type: 'string' },
        'from-file': { type: 'string' },
        'from-archive': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help || positionals.length === 0) {
    io.out(USAGE + '\n');
    return values.help ? 0 : 2;
  }
  const caFile = values.ca ?? io.env[CLI_ENV.ca];
  let ca: Buffer | undefined;
  try {
    ca = caFile ? await readFile(caFile) : undefined;
  } catch (err) {
    io.err(`error: cannot read the CA file "${caFile}": ${(err as Error).message}\n`);
    return 2;
  }
  const token = values.token ?? io.env[CLI_ENV.token] ?? undefined;
  const client = new SlipwayClient(
    values.server ?? io.env[CLI_ENV.server] ?? '127.0.0.1:7070',
    undefined,
    {},
    { ca, token: token || undefined },
  );
  const namespace = values.namespace ?? io.env[CLI_ENV.namespace] ?? 'default';
  try {
    const [command, ...rest] = positionals;
    switch (command) {
      case 'apply': {
        // -f is a flag (it means "follow" for logs): for apply, the file is the word after it.
        const file = values.filename ?? (values.f && rest.length === 1 ? rest[0] : undefined);
        if (!file) throw new UsageError('apply needs -f FILE');
        return await apply(client, file, namespace, io);
      }
      case 'start':
        if (rest.length !== 1) throw new UsageError('start needs exactly one CONFIG');
        if (values['from-dir'] && values['from-archive'])
          throw new UsageError('give --from-dir or --from-archive, not both');
        return await start(
          client,
          {
            namespace,
            config: rest[0]!,
            ref: values.ref,
            image: values.image,
            follow: values.follow ?? false,
            fromDir: values['from-dir'],
            fromArchive: values['from-archive'],
          },
          io,
        );
      case 'get':
        return await get(client, namespace, rest, values.config, chunkSize(values['chunk-size']), io);
      case 'describe':
        if (rest[0] !== 'build' || rest.length !== 2) throw new UsageError('describe needs: build NAME');
        io.out(describeBuild(await client.getBuild(namespace, rest[1]!)));
        return 0;
      case 'logs': {
        if (rest.length !== 1) throw new UsageError('logs needs exactly one BUILD');
        const from = values.from === undefined ? 1 : Number(values.from);
        if (!Number.isInteger(from) || from < 1) throw new UsageError('--from must be a line number (1 or more)');
        // A build of several platforms has a log per platform: its platform build's.
        const build = values.platform ? await platformBuild(client, namespace, rest[0]!, values.platform) : rest[0]!;
        return await logs(client, namespace, build, { follow: values.f ?? values.follow ?? false, from }, io);
      }
      case 'cancel': {
        if (rest.length !== 1) throw new UsageError('cancel needs exactly one BUILD');
        const b = await client.cancelBuild(namespace, rest[0]!);
        io.out(`build/${rest[0]} ${b.status!.phase === 'Cancelled' ? 'cancelled' : 'cancelling'}\n`);
        return 0;
      }
      case 'create': {
        if (
          rest[0] !== 'secret' ||
          !['docker-registry', 'basic-auth', 'ssh-auth', 'webhook', 'opaque'].includes(rest[1] ?? '') ||
          rest.length !== 3
        ) {
          throw new UsageError('create needs: secret docker-registry|basic-auth|ssh-auth|webhook|opaque NAME ...');
        }
        if (rest[1] === 'opaque') {
          if (!values['value-stdin'] === !values['from-file'])
            throw new UsageError('give the value on standard input with --value-stdin, or in a file with --from-file');
          await client.createSecret({
            metadata: { name: rest[2]!, namespace },
            type: 'opaque',
            password: values['from-file']
              ? await readFile(values['from-file'], 'utf8')
              : (await readStdin()).replace(/\r?\n$/, ''),
          });
          io.out(`secret/${rest[2]} created\n`);
          return 0;
        }
        if (rest[1] === 'webhook') {
          if (!values['value-stdin'])
            throw new UsageError('give the webhook secret on standard input with --value-stdin');
          await client.createSecret({
            metadata: { name: rest[2]!, namespace },
            type: 'webhook',
            password: (await readStdin()).replace(/\r?\n$/, ''),
          });
          io.out(`secret/${rest[2]} created\n`);
          return 0;
        }
        const ssh = rest[1] === 'ssh-auth';
        if (ssh && !values['ssh-privatekey']) throw new UsageError('ssh-auth needs --ssh-privatekey FILE');
        if (!ssh && !values['password-stdin'])
          throw new UsageError('give the password on standard input with --password-stdin');
        await client.createSecret({
          metadata: { name: rest[2]!, namespace },
          type: rest[1]!,
          registry: values.registry ?? '',
          username: values.username ?? '',
          password: ssh ? '' : (await readStdin()).replace(/\r?\n$/, ''),
          sshPrivateKey: ssh ? await readFile(values['ssh-privatekey']!, 'utf8') : '',
          knownHosts: values['known-hosts'] ? await readFile(values['known-hosts'], 'utf8') : '',
        });
        io.out(`secret/${rest[2]} created\n`);
        return 0;
      }
      case 'delete':
        if (!['buildconfig', 'bc'].includes(rest[0] ?? '') || rest.length !== 2)
          throw new UsageError('delete needs: buildconfig NAME');
        await client.deleteBuildConfig(namespace, rest[1]!);
        io.out(`buildconfig/${rest[1]} deleted\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    return reportError(err, io);
  } finally {
    client.close();
  }
}

async function apply(client: SlipwayClient, file: string, defaultNamespace: string, io: CliIo): Promise<number> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  const docs = parseAllDocuments(text);
  for (const doc of docs)
    if (doc.errors.length > 0)
      throw new InvalidInputError([{ field: file, message: doc.errors[0]!.message }], 'document');
  const inputs = docs
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null && d !== undefined)
    .map((d, i) => {
      try {
        return parseBuildConfigDocument(d);
      } catch (err) {
        if (err instanceof InvalidInputError && docs.length > 1)
          (err as Error).message = `document ${i + 1}: ${err.message}`;
        throw err;
      }
    });
  // Validate every document before sending any, so a bad file changes nothing.
  for (const input of inputs) {
    const ns =
      (input.metadata.namespace === 'default' ? defaultNamespace : input.metadata.namespace) || defaultNamespace;
    const message = { metadata: { ...input.metadata, namespace: ns }, spec: input.spec };
    try {
      await client.createBuildConfig(message);
      io.out(`buildconfig/${input.metadata.name} created\n`);
    } catch (err) {
      if ((err as grpc.ServiceError).code !== grpc.status.ALREADY_EXISTS) throw err;
      await client.updateBuildConfig(message);
      io.out(`buildconfig/${input.metadata.name} configured\n`);
    }
  }
  return 0;
}

/** The name of the build that makes `platform` for build `name`. @throws UsageError when it makes no such platform. */
async function platformBuild(
  client: SlipwayClient,
  namespace: string,
  name: string,
  platform: string,
): Promise<string> {
  const found = platformBuildOf(name, (await client.getBuild(namespace, name)).status!.platforms, platform);
  if ('problem' in found) throw new UsageError(found.problem);
  return found.build;
}

/**
 * Prints the log. With follow: until the build ends, then exits 0 only if it completed. A broken
 * stream is resumed from the line after the last one printed; a retried build's new attempt is
 * followed in turn.
 */
async function logs(
  client: SlipwayClient,
  namespace: string,
  name: string,
  o: { follow: boolean; from: number },
  io: CliIo,
): Promise<number> {
  let attempt = 0;
  let from = o.from;
  for (let failures = 0; ;) {
    try {
      for await (const l of client.streamBuildLogs({ namespace, name, follow: o.follow, fromLine: from, attempt })) {
        if (attempt !== 0 && l.attempt !== attempt) continue;
        attempt = l.attempt;
        io.out(`${l.text}\n`);
        from = Number(l.line) + 1;
        failures = 0;
      }
    } catch (err) {
      const code = (err as grpc.ServiceError).code;
      if (!o.follow || (code !== grpc.status.UNAVAILABLE && code !== grpc.status.INTERNAL) || ++failures > 30)
        throw err;
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    if (!o.follow) return 0;
    const b = await client.getBuild(namespace, name);
    const phase = b.status!.phase;
    if (
      ['Complete', 'Failed', 'Error', 'Cancelled'].includes(phase) &&
      (attempt === 0 || b.status!.attempt === attempt)
    ) {
      return phase === 'Complete' ? 0 : 1;
    }
    if (attempt !== 0 && b.status!.attempt !== attempt) {
      io.out(`--- attempt ${b.status!.attempt} ---\n`);
      attempt = b.status!.attempt;
      from = 1;
    }
  }
}

async function start(
  client: SlipwayClient,
  o: {
    namespace: string;
    config: string;
    ref?: string;
    image?: string;
    follow: boolean;
    fromDir?: string;
    fromArchive?: string;
  },
  io: CliIo,
): Promise<number> {
  const req = { namespace: o.namespace, configName: o.config, ref: o.ref ?? '', image: o.image ?? '' };
  let build;
  if (o.fromDir || o.fromArchive) {
    const archive = o.fromDir ? await packContextDir(o.fromDir) : createReadStream(o.fromArchive!);
    let shown = 0;
    build = await client.startBuildWithContext(req, archive, (sent) => {
      if (sent - shown >= 1024 * 1024) {
        io.err(`uploading: ${formatBytes(sent)}\r`);
        shown = sent;
      }
    });
    io.err(`uploaded the build context\n`);
  } else {
    build = await client.startBuild(req);
  }
  const name = build.metadata!.name;
  io.out(`build/${name} started\n`);
  if (!o.follow) return 0;
  let phase = '';
  let last: Build__Output | undefined;
  for await (const b of client.watchBuild(o.namespace, name)) {
    last = b;
    if (b.status!.phase !== phase) {
      phase = b.status!.phase;
      io.out(
        `build/${name} ${phase}${b.status!.node ? ` on ${b.status!.node}` : ''}${b.status!.reason ? ` (${b.status!.reason})` : ''}\n`,
      );
    }
  }
  const s = last?.status;
  if (s?.phase === 'Complete' && s.output) {
    io.out(`image:  ${s.output.image}\ndigest: ${s.output.digest}\n`);
    return 0;
  }
  if (s?.message) io.err(`${s.message}\n`);
  return 1;
}

/** --chunk-size as a page size: 0 (the server's default) when not given. */
function chunkSize(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value)) throw new UsageError(`--chunk-size must be a whole number, got "${value}"`);
  return Number(value);
}

async function get(
  client: SlipwayClient,
  namespace: string,
  rest: string[],
  config: string | undefined,
  pageSize: number,
  io: CliIo,
): Promise<number> {
  const [kind, name] = rest;
  if (kind === 'buildconfigs' || kind === 'buildconfig' || kind === 'bc') {
    const items = name
      ? [await client.getBuildConfig(namespace, name)]
      : await client.listBuildConfigs(namespace, pageSize);
    io.out(
      table(
        ['NAME', 'IMAGE', 'SOURCE', 'LATEST', 'AGE'],
        items.map((c) => [
          c.metadata!.name,
          c.spec!.output!.image,
          c.spec!.source!.git
            ? `${c.spec!.source!.git.uri}${c.spec!.source!.git.ref ? '#' + c.spec!.source!.git.ref : ''}`
            : '(inline Dockerfile)',
          String(c.status!.lastVersion),
          formatAge(c.metadata!.creationTimestamp),
        ]),
      ),
    );
    return 0;
  }
  if (kind === 'builds' || kind === 'build' || kind === 'bld') {
    const items = name
      ? [await client.getBuild(namespace, name)]
      : await client.listBuilds({ namespace, configName: config ?? '', pageSize });
    io.out(
      table(
        ['NAME', 'PHASE', 'REASON', 'CONFIG', 'NODE', 'DURATION', 'LONGEST STAGE', 'AGE'],
        items.map((b) => [
          b.metadata!.name,
          b.status!.phase,
          b.status!.reason || '-',
          b.spec!.configName,
          b.status!.node || '-',
          buildDuration(b),
          longestStageCell(b),
          formatAge(b.metadata!.creationTimestamp),
        ]),
      ),
    );
    return 0;
  }
  throw new UsageError('get needs: buildconfigs|bc or builds|bld');
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof UsageError) {
    io.err(`error: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (err instanceof InvalidInputError) {
    io.err(`error: ${err.message}\n`);
    return 1;
  }
  const e = err as grpc.ServiceError;
  if (typeof e?.code === 'number') {
    io.err(
      `error: ${e.details || e.message}${e.code === grpc.status.UNAVAILABLE ? ' (is the coordinator running?)' : ''}\n`,
    );
    return 1;
  }
  io.err(`error: ${(err as Error)?.message ?? String(err)}\n`);
  return 1;
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}
