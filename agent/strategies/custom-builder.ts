import path from 'node:path';
import { pack as packDir } from 'tar-fs';
import { pack } from 'tar-stream';
import { canonicalImage, DOCKER_HUB } from '../../common/image-reference.js';
import { errorMessage } from '../../common/errors.js';
import { resolveManifestDigest } from '../../common/registry-client.js';
import { BuildFailure } from '../build-failures.js';
import {
  ContainerPathNotFoundError,
  type ContainerLimits,
  type ContainerRuntime,
  type RegistryAuth,
} from '../container-runtime/types.js';
import { LineSplitter } from '../logs/line-splitter.js';
import { pushLayout, unpackLayout } from './oci-layout-push.js';

/** The variables a custom builder is given (not settings of any Slipway process). */
export const BUILDER_VARIABLES = [
  'SLIPWAY_BUILD',
  'SLIPWAY_OUTPUT_IMAGE',
  'SLIPWAY_SOURCE_DIR',
  'SLIPWAY_OUTPUT_DIR',
  'SLIPWAY_SECRETS_DIR',
  'SLIPWAY_PUSH_DOCKERCONFIG',
] as const;

/** Where the build's source is in the builder's container (SLIPWAY_SOURCE_DIR). */
export const CUSTOM_SOURCE_DIR = '/workspace/source';
/** The docker config.json with the push credentials in the builder's container (SLIPWAY_PUSH_DOCKERCONFIG). */
export const CUSTOM_PUSH_DOCKERCONFIG = '/slipway/push/config.json';
/** Where the config's secrets are files, one per id, in the builder's container (SLIPWAY_SECRETS_DIR). */
export const CUSTOM_SECRETS_DIR = '/slipway/secrets';
/** Where the builder may leave an OCI image layout for the agent to push (SLIPWAY_OUTPUT_DIR). */
export const CUSTOM_OUTPUT_DIR = '/workspace/output';
/** Where the build's private daemon's socket is mounted in the builder's container (DOCKER_HOST). */
const DOCKER_SOCKET = '/var/run/docker.sock';

/** The custom builder exited non-zero: its exit code is the build's. */
export class CustomBuilderFailedError extends BuildFailure {
  readonly reason = 'CustomBuilderFailed';
  readonly phase = 'Failed';
}

/** The custom builder exited 0, but the registry has no image at the output tag. */
export class OutputNotPushedError extends BuildFailure {
  readonly reason = 'OutputNotPushed';
  readonly phase = 'Failed';
}

/** The custom builder exited 0, but the registry would not say what the output tag names. */
export class OutputDigestUnavailableError extends BuildFailure {
  readonly reason = 'OutputDigestUnavailable';
  readonly phase = 'Failed';
}

/**
 * `exposeDockerSocket` on an agent whose daemon is not the build's own (the node's, or one the
 * agent's builds share): handing it over would let the builder see and change other builds.
 */
export class DockerSocketNotPrivateError extends BuildFailure {
  readonly reason = 'DockerSocketNotPrivate';
  readonly phase = 'Failed';
}

/** What the builder learns of its build, as JSON in SLIPWAY_BUILD. No credentials. */
export interface CustomBuildDescription {
  namespace: string;
  name: string;
  attempt: number;
  config: string;
  source: { git?: { uri: string; ref?: string; commit?: string }; contextDir?: string; upload: boolean };
  output: { image: string; pushDockerConfig?: string };
  sourceDir: string;
  outputDir: string;
  secretsDir?: string;
  dockerHost?: string;
}

export interface CustomBuilderOptions {
  runtime: ContainerRuntime;
  /** The source, as fetched or unpacked, copied to /workspace/source. */
  contextDir: string;
  builderImage: string;
  env: { name: string; value: string }[];
  /** The output reference, with its tag. */
  image: string;
  description: Omit<CustomBuildDescription, 'output' | 'sourceDir' | 'outputDir' | 'secretsDir' | 'dockerHost'>;
  /** strategy.custom.secrets' values by id; undefined: none. */
  secrets?: Map<string, Buffer>;
  /** A folder of the build's own, where an output layout is unpacked before it is pushed. */
  workDir: string;
  /** For the output's registry; written as a docker config.json into the container only. */
  pushAuth?: RegistryAuth;
  /**
   * The socket of the build's own daemon, when the builder is to get it. The builder then runs
   * in the daemon's network and as its root (outside a remapped user namespace): with the
   * socket it could start such containers anyway, and a remapped root could not reach it.
   */
  dockerSocket?: string;
  labels: Record<string, string>;
  limits: ContainerLimits;
  onLine: (line: string) => void;
  onContainer: (id: string) => void;
  signal: AbortSignal;
}

/**
 * Runs the builder image once: the source at /workspace/source, the build described in
 * SLIPWAY_* variables, the push credentials in a docker config.json and the config's secrets
 * as files under /slipway/secrets (all put into the
 * container, never on the agent's disk), and with `dockerSocket` the build's own daemon at
 * DOCKER_HOST. Exit 0 means the builder made the image: when it left an OCI image layout in
 * /workspace/output, the agent pushes that to `image` and returns its digest; otherwise the
 * builder pushed it, and the registry is asked which manifest the tag names. The same digest as before the build is not an
 * error (a reproducible builder may push the same image again); it is said in the log.
 * @throws CustomBuilderFailedError (its exit code), OutputNotPushedError, OutputDigestUnavailableError
 */
export async function runCustomBuilder(o: CustomBuilderOptions): Promise<string> {
  const before = await outputDigest(o).catch(() => undefined);
  const pushConfig = o.pushAuth ? CUSTOM_PUSH_DOCKERCONFIG : undefined;
  const dockerHost = o.dockerSocket ? `unix://${DOCKER_SOCKET}` : undefined;
  const description: CustomBuildDescription = {
    ...o.description,
    output: { image: o.image, ...(pushConfig ? { pushDockerConfig: pushConfig } : {}) },
    sourceDir: CUSTOM_SOURCE_DIR,
    outputDir: CUSTOM_OUTPUT_DIR,
    ...(o.secrets ? { secretsDir: CUSTOM_SECRETS_DIR } : {}),
    ...(dockerHost ? { dockerHost } : {}),
  };
  const env = [
    ...o.env.map((e) => `${e.name}=${e.value}`),
    `SLIPWAY_BUILD=${JSON.stringify(description)}`,
    `SLIPWAY_OUTPUT_IMAGE=${o.image}`,
    `SLIPWAY_SOURCE_DIR=${CUSTOM_SOURCE_DIR}`,
    `SLIPWAY_OUTPUT_DIR=${CUSTOM_OUTPUT_DIR}`,
    ...(o.secrets ? [`SLIPWAY_SECRETS_DIR=${CUSTOM_SECRETS_DIR}`] : []),
    ...(pushConfig ? [`SLIPWAY_PUSH_DOCKERCONFIG=${pushConfig}`] : []),
    ...(dockerHost ? [`DOCKER_HOST=${dockerHost}`] : []),
  ];
  const id = await o.runtime.createContainer({
    image: o.builderImage,

    env,
    labels: o.labels,
    limits: o.limits,
    binds: o.dockerSocket ? [`${o.dockerSocket}:${DOCKER_SOCKET}`] : undefined,
    ...(o.dockerSocket ? { network: 'host' as const, usernsHost: true } : {}),
  });
  o.onContainer(id);
  await o.runtime.putArchive(id, '/', sourceArchive(o.contextDir));
  await o.runtime.putArchive(id, '/', await outputDirArchive());
  if (o.pushAuth) await o.runtime.putArchive(id, '/', await dockerConfigArchive(o.image, o.pushAuth));
  if (o.secrets) await o.runtime.putArchive(id, '/', await secretsArchive(o.secrets));
  o.onLine(`Running builder ${o.builderImage}${dockerHost ? " with the build's own Docker daemon" : ''}`);
  const stdout = new LineSplitter(o.onLine);
  const stderr = new LineSplitter(o.onLine);
  const code = await o.runtime
    .runContainer(id, { onStdout: (c) => stdout.write(c), onStderr: (c) => stderr.write(c), signal: o.signal })
    .finally(() => (stdout.end(), stderr.end()));
  if (code !== 0) throw new CustomBuilderFailedError(`the builder exited with code ${code}`, { exitCode: code });

  const layout = path.join(o.workDir, 'output-layout');
  // A builder that removed the folder left no layout.
  const tar = await o.runtime.readArchive(id, `${CUSTOM_OUTPUT_DIR}/.`, { signal: o.signal }).catch((err: unknown) => {
    if (err instanceof ContainerPathNotFoundError) return undefined;
    throw err;
  });
  if (tar && (await unpackLayout(tar, layout))) {
    const image = canonicalImage(o.image);
    if (typeof image === 'string') throw new Error(image);
    o.onLine(`Pushing the builder's OCI layout to ${o.image}`);
    return pushLayout(layout, image, o.pushAuth, o.signal, o.onLine);
  }

  let digest: string | undefined;
  try {
    digest = await outputDigest(o);
  } catch (err) {
    throw new OutputDigestUnavailableError(
      `the builder exited 0, but the registry would not say what ${o.image} is: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  if (!digest) throw new OutputNotPushedError(`the builder exited 0, but the registry has no ${o.image}`);
  if (digest === before) o.onLine(`${o.image} names the same image as before the build (${digest})`);
  return digest;
}

/** The digest of the manifest the output tag names now; undefined: the registry has no such tag. */
async function outputDigest(o: CustomBuilderOptions): Promise<string | undefined> {
  const image = canonicalImage(o.image);
  if (typeof image === 'string') throw new Error(image);
  // The push secret is the output registry's, as the builder's push used it.
  const auth = o.pushAuth;
  return resolveManifestDigest(image, {
    credentials: auth ? { username: auth.username, password: auth.password } : undefined,
    signal: o.signal,
  });
}

/** The source folder as a tar whose entries sit under workspace/source/, owned by root. */
function sourceArchive(dir: string): NodeJS.ReadableStream {
  return packDir(dir, {
    map: (header) => ({ ...header, name: `workspace/source/${header.name}`, uid: 0, gid: 0 }),
    ignore: (name: string) => path.relative(dir, name).split(path.sep)[0] === '.git',
  }) as unknown as NodeJS.ReadableStream;
}

/** A tar of slipway/secrets/<id> for each secret, readable by any user the builder runs as (the files exist only in this container). */
async function secretsArchive(secrets: Map<string, Buffer>): Promise<Buffer> {
  const out = pack();
  out.entry({ name: 'slipway/', type: 'directory', mode: 0o755 });
  out.entry({ name: 'slipway/secrets/', type: 'directory', mode: 0o755 });
  for (const [id, value] of secrets) out.entry({ name: `slipway/secrets/${id}`, mode: 0o444 }, value);
  out.finalize();
  const chunks: Buffer[] = [];
  for await (const c of out) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A tar of workspace/output/, writable by any user the builder runs as. */
async function outputDirArchive(): Promise<Buffer> {
  const out = pack();
  out.entry({ name: 'workspace/output/', type: 'directory', mode: 0o777 });
  out.finalize();
  const chunks: Buffer[] = [];
  for await (const c of out) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A tar of slipway/push/config.json: a docker config.json that gives the push credentials for
 * the output image's registry (Docker Hub under the key the docker CLI looks up).
 */
async function dockerConfigArchive(image: string, auth: RegistryAuth): Promise<Buffer> {
  const ref = canonicalImage(image);
  const host = typeof ref === 'string' ? auth.registry : ref.registry;
  const registry = host === DOCKER_HUB ? 'https://index.docker.io/v1/' : host;
  const config = {
    auths: { [registry]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } },
  };
  const out = pack();
  out.entry({ name: 'slipway/', type: 'directory', mode: 0o755 });
  out.entry({ name: 'slipway/push/', type: 'directory', mode: 0o755 });
  // Readable by any user the builder runs as: the file exists only in this container.
  out.entry({ name: 'slipway/push/config.json', mode: 0o644 }, JSON.stringify(config));
  out.finalize();
  const chunks: Buffer[] = [];
  for await (const c of out) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
