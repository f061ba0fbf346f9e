import path from 'node:path';
import { pack as packDir } from 'tar-fs';
import { extract, pack } from 'tar-stream';
import { errorMessage } from '../../common/errors.js';
import { BuildFailure } from '../build-failures.js';
import type { ContainerRuntime, RegistryAuth } from '../container-runtime/types.js';
import { LineSplitter } from '../logs/line-splitter.js';

/** The label a builder image names its scripts with (Source-to-Image's own). */
export const SCRIPTS_URL_LABEL = 'io.openshift.s2i.scripts-url';

/** The builder's assemble script exited non-zero. */
export class AssembleFailedError extends BuildFailure {
  readonly reason = 'AssembleFailed';
  readonly phase = 'Failed';
}

/** The builder image could not be pulled. */
export class PullBuilderImageFailedError extends BuildFailure {
  readonly reason = 'PullBuilderImageFailed';
  readonly phase = 'Failed';
}

/** The builder image does not say where its scripts are, or says it in a way not supported. */
export class InvalidBuilderImageError extends BuildFailure {
  readonly reason = 'InvalidBuilderImage';
  readonly phase = 'Failed';
}

export interface SourceToImageOptions {
  runtime: ContainerRuntime;
  /** The source, as fetched or unpacked. */
  contextDir: string;
  builderImage: string;
  scriptsUrl?: string;
  env: { name: string; value: string }[];
  incremental: boolean;
  forcePull: boolean;
  /** The output image reference; with `incremental`, also where the previous image is pulled from. */
  image: string;
  pushAuth?: RegistryAuth;
  /** Credentials for pulling the builder image. */
  pullAuth?: RegistryAuth;
  labels: Record<string, string>;
  limits: { memoryBytes?: number; cpuPeriod?: number; cpuQuota?: number };
  onLine: (line: string) => void;
  /** Gets each container made, so the runner removes it whatever happens. */
  onContainer: (id: string) => void;
  signal: AbortSignal;
  /** With `incremental`: the previous output image was pulled (pullPreviousImage), so its artifacts can be restored. */
  previousImage?: boolean;
}

/**
 * Pulls the builder image when the daemon lacks it, or always with `forcePull`. The runner calls
 * it before the build so that pulling is timed as a stage of its own.
 * @throws PullBuilderImageFailedError
 */
export async function pullBuilderImage(
  o: Pick<SourceToImageOptions, 'runtime' | 'builderImage' | 'forcePull' | 'pullAuth' | 'onLine' | 'signal'>,
): Promise<void> {
  if (!o.forcePull && (await o.runtime.inspectImage(o.builderImage))) return;
  o.onLine(`Pulling builder image ${o.builderImage}`);
  try {
    await o.runtime.pullImage(o.builderImage, {
      signal: o.signal,
      auth: o.pullAuth,
      onOutput: (t) => o.onLine(t.trimEnd()),
    });
  } catch (err) {
    throw new PullBuilderImageFailedError(`pulling builder image ${o.builderImage} failed: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** For an incremental build: pulls the previous output image; false when there is none (a full build). */
export async function pullPreviousImage(o: SourceToImageOptions): Promise<boolean> {
  try {
    await o.runtime.pullImage(o.image, { signal: o.signal, auth: o.pushAuth });
    return true;
  } catch {
    o.onLine(`No previous image ${o.image}: a full build`);
    return false;
  }
}

/**
 * Builds an image the Source-to-Image way: the source is copied into a container of the builder
 * image at /tmp/src (and, for an incremental build, the previous image's saved artifacts at
 * /tmp/artifacts), the builder's `assemble` script runs there, and the container is committed
 * as the output image with the `run` script as its command; the builder's user, environment and
 * labels carry over.
 */
export async function buildSourceToImage(o: SourceToImageOptions): Promise<void> {
  const { dir: scripts, download } = await builderScripts(o);
  const artifacts = o.incremental && o.previousImage ? await savedArtifacts(o, scripts) : undefined;
  const env = o.env.map((e) => `${e.name}=${e.value}`);

  const id = await o.runtime.createContainer({
    image: o.builderImage,
    cmd: [`${scripts}/assemble`],
    env,
    labels: o.labels,
    limits: o.limits,
  });
  o.onContainer(id);
  // Downloaded scripts go into the container, and so into the output image for run and save-artifacts.
  if (download) await o.runtime.putArchive(id, '/tmp', download);
  await o.runtime.putArchive(id, '/tmp', sourceArchive(o.contextDir));
  if (artifacts) await o.runtime.putArchive(id, '/tmp', artifacts);
  o.onLine(`Running ${scripts}/assemble in ${o.builderImage}`);
  const stdout = new LineSplitter(o.onLine);
  const stderr = new LineSplitter(o.onLine);
  const code = await o.runtime
    .runContainer(id, { onStdout: (c) => stdout.write(c), onStderr: (c) => stderr.write(c), signal: o.signal })
    .finally(() => (stdout.end(), stderr.end()));
  if (code !== 0) throw new AssembleFailedError(`assemble exited with code ${code}`, { exitCode: code });

  await o.runtime.commitContainer(id, o.image, [
    `CMD ["${scripts}/run"]`,
    ...o.env.map((e) => `ENV ${e.name}=${JSON.stringify(e.value)}`),
    // The scripts are in the image now (downloaded ones too), so the label points there.
    `LABEL ${SCRIPTS_URL_LABEL}="image://${scripts}"`,
  ]);
  o.onLine(`Committed ${o.image} with ${scripts}/run as its command`);
}

/** Where downloaded scripts are put in the build container. */
const DOWNLOADED_SCRIPTS = '/tmp/scripts';

/**
 * The folder of the s2i scripts in the build container (the builder image pulled before, by
 * pullBuilderImage): inside the builder image for an image:/// URL; for an http(s) URL, the
 * scripts are downloaded and come back as a tar to put at /tmp/scripts.
 */
async function builderScripts(o: SourceToImageOptions): Promise<{ dir: string; download?: Buffer }> {
  const config = await o.runtime.inspectImage(o.builderImage);
  if (!config)
    throw new PullBuilderImageFailedError(
      `builder image ${o.builderImage} is not on the daemon (it was not pulled, or was removed since)`,
    );
  const url = o.scriptsUrl || config?.labels[SCRIPTS_URL_LABEL];
  if (!url)
    throw new InvalidBuilderImageError(
      `${o.builderImage} has no ${SCRIPTS_URL_LABEL} label, and strategy.source.scriptsUrl is not set`,
    );
  if (url.startsWith('image:///')) return { dir: url.slice('image://'.length).replace(/\/+$/, '') };
  if (/^https?:\/\//.test(url))
    return { dir: DOWNLOADED_SCRIPTS, download: await downloadScripts(url.replace(/\/+$/, ''), o) };
  throw new InvalidBuilderImageError(`scripts URL "${url}" is not supported: use image:///path, http:// or https://`);
}

/** assemble and run (required) and save-artifacts (if there) from `base`, as a tar under scripts/. */
async function downloadScripts(base: string, o: SourceToImageOptions): Promise<Buffer> {
  const out = pack();
  out.entry({ name: 'scripts/', type: 'directory', mode: 0o755 });
  for (const name of ['assemble', 'run', 'save-artifacts']) {
    let res: Response;
    try {
      res = await fetch(`${base}/${name}`, { signal: o.signal });
    } catch (err) {
      throw new InvalidBuilderImageError(`downloading the ${name} script from ${base} failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    if (res.status === 404 && name === 'save-artifacts') continue;
    if (!res.ok)
      throw new InvalidBuilderImageError(`downloading the ${name} script from ${base} failed: HTTP ${res.status}`);
    out.entry({ name: `scripts/${name}`, mode: 0o755 }, Buffer.from(await res.arrayBuffer()));
    o.onLine(`Downloaded ${name} from ${base}`);
  }
  out.finalize();
  const chunks: Buffer[] = [];
  for await (const c of out) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The previous output image's artifacts (pulled before by pullPreviousImage), from its
 * save-artifacts script, as a tar whose entries sit under artifacts/; undefined when nothing
 * was saved.
 */
async function savedArtifacts(o: SourceToImageOptions, scripts: string): Promise<Buffer | undefined> {
  const id = await o.runtime.createContainer({
    image: o.image,
    cmd: [`${scripts}/save-artifacts`],
    labels: o.labels,
    limits: o.limits,
  });
  o.onContainer(id);
  const out: Buffer[] = [];
  const stderr = new LineSplitter(o.onLine);
  const code = await o.runtime
    .runContainer(id, { onStdout: (c) => out.push(c), onStderr: (c) => stderr.write(c), signal: o.signal })
    .finally(() => stderr.end());
  if (code !== 0 || out.length === 0) {
    o.onLine(`save-artifacts ${code !== 0 ? `exited with code ${code}` : 'saved nothing'}: a full build`);
    return undefined;
  }
  o.onLine(`Restoring artifacts of the previous image`);
  return prefixed(Buffer.concat(out), 'artifacts');
}

/** The source folder as a tar whose entries sit under src/ (the repository's .git left out). */
function sourceArchive(dir: string): NodeJS.ReadableStream {
  return packDir(dir, {
    ignore: (name: string) => path.relative(dir, name).split(path.sep)[0] === '.git',
    map: (header) => ({ ...header, name: `src/${header.name}` }),
  }) as unknown as NodeJS.ReadableStream;
}

/** A tar archive with every entry moved under `prefix/` (and that folder itself added). */
async function prefixed(tar: Buffer, prefix: string): Promise<Buffer> {
  const out = pack();
  out.entry({ name: `${prefix}/`, type: 'directory', mode: 0o755 });
  const input = extract();
  const copied = (async () => {
    for await (const entry of input) {
      const body: Buffer[] = [];
      for await (const chunk of entry) body.push(chunk as Buffer);
      out.entry({ ...entry.header, name: `${prefix}/${entry.header.name}` }, Buffer.concat(body));
    }
    out.finalize();
  })();
  input.end(tar);
  const chunks: Buffer[] = [];
  for await (const c of out) chunks.push(c as Buffer);
  await copied;
  return Buffer.concat(chunks);
}
