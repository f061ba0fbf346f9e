import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { extract } from 'tar-stream';
import { AgentInternalError, MalformedBuildError } from '../agent/build-failures.js';
import { runBuild, type BuildResult } from '../agent/build-runner.js';
import { DockerRuntime } from '../agent/container-runtime/docker-runtime.js';
import {
  OCI_CONFIG,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  ociImageFromArchive,
} from '../agent/container-runtime/push-by-digest.js';
import { BuildCacheGuard } from '../agent/gc/build-cache-guard.js';
import { claimedBuildFrom, type ClaimedBuild } from '../agent/jobs/claimed-build.js';
import { SourceImageLeases } from '../agent/source/source-image-leases.js';
import { slipwayProto } from '../common/grpc/proto.js';
import type { ClaimBuildResponse } from '../proto/generated/slipway/v1/ClaimBuildResponse.js';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { OCI_INDEX, pushMultiPlatformBase, skopeoCopy, skopeoInspect } from './helpers/multi-platform-image.js';
import { tempDir } from './helpers/processes.js';
import { registryDigest } from './helpers/registry.js';
import { tarball } from './helpers/tarball.js';

const unique = () => randomBytes(4).toString('hex');
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function* chunks(buf: Buffer): AsyncIterable<Uint8Array> {
  // In pieces, as the daemon's stream comes.
  for (let i = 0; i < buf.length; i += 700) yield buf.subarray(i, i + 700);
}

interface Manifest {
  schemaVersion: number;
  mediaType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number }[];
}

/** Two layer tars and a config naming them, as `docker save` holds them. */
async function savedImage() {
  const layer1 = await tarball([{ name: 'platform', content: 'arm64\n' }]);
  const layer2 = await tarball([{ name: 'file', content: 'copied\n' }]);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'arm64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(layer1), sha256(layer2), sha256(layer1)] },
    }),
  );
  return { layer1, layer2, config };
}

/**
 * Checks the OCI image made of `saved` (the savedImage() the archive was made of, not a new one:
 * a tarball's entries carry the second it was made, so two calls a second apart differ): its
 * manifest, and each blob's bytes.
 */
async function checkConversion(
  t: import('ava').ExecutionContext,
  dir: string,
  archive: Buffer,
  saved: Awaited<ReturnType<typeof savedImage>>,
): Promise<void> {
  const { layer1, layer2, config } = saved;
  const image = await ociImageFromArchive(chunks(archive), dir);
  t.is(image.digest, sha256(image.manifest), 'the digest is of the exact bytes');
  const manifest = JSON.parse(image.manifest.toString('utf8')) as Manifest;
  t.is(manifest.schemaVersion, 2);
  t.is(manifest.mediaType, OCI_MANIFEST);
  t.deepEqual(manifest.config, { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length });
  t.deepEqual(await readFile(image.config.file), config, 'the config is pushed as saved');
  t.is(manifest.layers.length, 3);
  for (const [i, raw] of [layer1, layer2, layer1].entries()) {
    const gz = await readFile(image.layers[i]!.file);
    t.deepEqual(manifest.layers[i], { mediaType: OCI_LAYER_GZIP, digest: sha256(gz), size: gz.length });
    t.deepEqual(gunzipSync(gz), raw, `layer ${i} is the saved tar, gzipped`);
  }
}

test('docker save of dockerd 20.10 (<id>/layer.tar, a layer found twice as a symlink) becomes an OCI image manifest', async (t) => {
  const { layer1, layer2, config } = await savedImage();
  const configName = `${sha256(config).slice(7)}.json`;
  const archive = await tarball([
    // manifest.json comes last, as dockerd 20.10 writes it: layers are told by its paths alone.
    { name: `${configName}`, content: config },
    { name: 'aaa/', type: 'directory' },
    { name: 'aaa/VERSION', content: '1.0' },
    { name: 'aaa/json', content: '{}' },
    { name: 'aaa/layer.tar', content: layer1 },
    { name: 'bbb/layer.tar', content: layer2 },
    { name: 'ccc/layer.tar', type: 'symlink', linkname: '../aaa/layer.tar' },
    {
      name: 'manifest.json',
      content: JSON.stringify([
        {
          Config: configName,
          RepoTags: ['r.example/a:v1'],
          Layers: ['aaa/layer.tar', 'bbb/layer.tar', 'ccc/layer.tar'],
        },
      ]),
    },
    { name: 'repositories', content: '{}' },
  ]);
  await checkConversion(t, await tempDir(t), archive, { layer1, layer2, config });
});

test('docker save of dockerd 25 and later (blobs/sha256/<hex>) becomes an OCI image manifest', async (t) => {
  const { layer1, layer2, config } = await savedImage();
  const blob = (b: Buffer) => `blobs/sha256/${sha256(b).slice(7)}`;
  const archive = await tarball([
    { name: blob(layer1), content: layer1 },
    { name: blob(layer2), content: layer2 },
    { name: blob(config), content: config },
    { name: 'index.json', content: '{"schemaVersion":2,"manifests":[]}' },
    {
      name: 'manifest.json',
      content: JSON.stringify([
        { Config: blob(config), RepoTags: ['r.example/a:v1'], Layers: [blob(layer1), blob(layer2), blob(layer1)] },
      ]),
    },
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
  ]);
  await checkConversion(t, await tempDir(t), archive, { layer1, layer2, config });
});

test('an archive whose layer is not the one its config names is refused', async (t) => {
  const { layer1, layer2 } = await savedImage();
  const config = JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256(layer2)] } });
  const archive = await tarball([
    { name: 'c.json', content: config },
    { name: 'a/layer.tar', content: layer1 },
    { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', Layers: ['a/layer.tar'] }]) },
  ]);
  const err = await t.throwsAsync(ociImageFromArchive(chunks(archive), await tempDir(t)), {
    instanceOf: AgentInternalError,
  });
  t.regex(err.message, /diff_ids\[0\]/);
  const missing = await tarball([
    { name: 'c.json', content: config },
    { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', Layers: ['a/layer.tar'] }]) },
  ]);
  await t.throwsAsync(ociImageFromArchive(chunks(missing), await tempDir(t)), {
    instanceOf: AgentInternalError,
    message: /lacks a\/layer\.tar/,
  });
});

function claimResponse(
  platform: string,
  strategy: NonNullable<ClaimBuildResponse['build']>['spec'],
): ClaimBuildResponse {
  return {
    build: {
      metadata: { namespace: 'team', name: 'app-1-linux-arm64' },
      status: { phase: 'Running', attempt: 1 },
      spec: { ...strategy, platform, parent: 'app-1' },
    },
  };
}

test('the claim reads spec.platform; only a docker strategy may name one', (t) => {
  const method = slipwayProto().slipway.v1.AgentService.service.ClaimBuild;
  const received = (res: ClaimBuildResponse) => method.responseDeserialize(method.responseSerialize(res));
  const ref = { namespace: 'team', name: 'app-1-linux-arm64', attempt: 1 };
  const spec = (strategy: object) => ({
    configName: 'app',
    config: { strategy, output: { image: 'r.example/team/app:v1' } },
  });
  t.is(claimedBuildFrom(received(claimResponse('linux/arm64', spec({ docker: {} }))), ref).platform, 'linux/arm64');
  t.is(claimedBuildFrom(received(claimResponse('', spec({ docker: {} }))), ref).platform, undefined);
  const s2i = t.throws(
    () => claimedBuildFrom(received(claimResponse('linux/arm64', spec({ source: { builderImage: 'b' } }))), ref),
    { instanceOf: MalformedBuildError },
  );
  t.is(s2i.field, 'build.spec.platform');
  const bad = t.throws(() => claimedBuildFrom(received(claimResponse('arm64', spec({ docker: {} }))), ref), {
    instanceOf: MalformedBuildError,
  });
  t.is(bad.field, 'build.spec.platform');
});

/** A Dockerfile build of `uri` to `image`, for `platform` (undefined: an ordinary build). */
function dockerBuild(name: string, uri: string, image: string, platform?: string): ClaimedBuild {
  return {
    ref: { namespace: 'default', name, attempt: 1 },
    configName: name,
    platform,
    source: { git: { uri, submodules: false }, contextDir: '.', images: [] },
    strategy: {
      kind: 'docker',
      dockerfilePath: 'Dockerfile',
      buildArgs: [],
      noCache: false,
      env: [],
      forcePull: false,
      secrets: [],
    },
    output: { image },
    resources: {},
    credentials: { build: new Map(), sourceImages: new Map() },
  };
}

async function build(t: import('ava').ExecutionContext, claimed: ClaimedBuild, lines: string[]): Promise<BuildResult> {
  const env = testEnvironment();
  t.teardown(() =>
    environmentDocker()
      .getImage(claimed.output.image)
      .remove()
      .catch(() => {}),
  );
  return runBuild({
    build: claimed,
    runtime: new DockerRuntime(env.dockerHost),
    agent: 'platform-test',
    workDir: await tempDir(t),
    onLine: (line) => lines.push(line),
    contextLimits: { maxBytes: 1 << 30, maxEntries: 100_000, maxRatio: 100 },
    daemonLimited: false,
    sourceImageLeases: new SourceImageLeases(),
    buildCache: new BuildCacheGuard(),
    signal: AbortSignal.timeout(180_000),
  });
}

/** The files of a gzipped layer tar, by name. */
async function layerFiles(gz: Buffer): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const input = extract();
  input.end(gunzipSync(gz));
  for await (const entry of input) {
    let text = '';
    for await (const c of entry) text += (c as Buffer).toString();
    files.set(entry.header.name.replace(/^\.\//, ''), text);
  }
  return files;
}

interface ImageConfig {
  architecture: string;
  os: string;
  rootfs: { diff_ids: string[] };
}

test.serial(
  'a platform build builds FROM its platform of a multi-platform base and pushes by digest, never to the output tag',
  async (t) => {
    const env = testEnvironment();
    const id = unique();
    const base = await pushMultiPlatformBase(`${env.registry}/test/multi-base-${id}`);
    const index = JSON.parse(await skopeoInspect('--raw', `docker://${base.reference}`)) as {
      mediaType: string;
      manifests: { digest: string; platform: { os: string; architecture: string } }[];
    };
    t.is(index.mediaType, OCI_INDEX);
    t.deepEqual(
      index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}@${m.digest}`).sort(),
      [`linux/amd64@${base.platforms['linux/amd64'].digest}`, `linux/arm64@${base.platforms['linux/arm64'].digest}`],
      'the base is an index of both platforms',
    );

    const git = await startGitServer(t);
    const word = `copied ${id}\n`;
    const repo = await git.createRepo('platform', {
      Dockerfile: `FROM ${base.reference}\nCOPY file /file\n`,
      file: word,
    });
    const repository = `test/platform-${id}`;
    const output = `${env.registry}/${repository}:v1`;
    const lines: string[] = [];
    const result = await build(t, dockerBuild(`platform-${id}`, repo.uri, output, 'linux/arm64'), lines);
    const log = lines.join('\n');

    t.is(result.image, `${env.registry}/${repository}`, 'the repository, without the tag');
    t.regex(result.digest, /^sha256:[0-9a-f]{64}$/);
    t.is(result.commit, repo.commit);
    t.true(lines.includes(`Pushing linux/arm64 image of ${env.registry}/${repository} by digest`), log);
    t.true(lines.includes(`Pushed ${env.registry}/${repository}@${result.digest} (linux/arm64)`), log);
    t.false(
      lines.some((l) => l.startsWith('Pulling base image')),
      'the agent pulls no base image of its own platform',
    );

    // The manifest at the digest: an OCI image manifest of the arm64 base's layer and COPY's.
    const pinned = `docker://${env.registry}/${repository}@${result.digest}`;
    const rawManifest = await skopeoInspect('--raw', pinned);
    t.is(sha256(Buffer.from(rawManifest)), result.digest, 'the digest is of the manifest the registry holds');
    const manifest = JSON.parse(rawManifest) as Manifest;
    t.is(manifest.mediaType, OCI_MANIFEST);
    t.is(manifest.config.mediaType, OCI_CONFIG);
    t.is(manifest.layers.length, 2, rawManifest);
    t.true(manifest.layers.every((l) => l.mediaType === OCI_LAYER_GZIP));
    const config = JSON.parse(await skopeoInspect('--config', pinned)) as ImageConfig;
    t.is(`${config.os}/${config.architecture}`, 'linux/arm64');
    t.is(config.rootfs.diff_ids[0], base.platforms['linux/arm64'].diffIds[0], "the arm64 base's layer");
    t.not(config.rootfs.diff_ids[0], base.platforms['linux/amd64'].diffIds[0]);

    // Its layers as pulled: the arm64 base's /platform, then the copied file.
    const copy = await tempDir(t);
    await skopeoCopy(pinned, `dir:${copy}`);
    const blob = (digest: string) => readFile(path.join(copy, digest.replace(/^sha256:/, '')));
    const baseLayer = await layerFiles(await blob(manifest.layers[0]!.digest));
    t.is(baseLayer.get('platform'), 'arm64\n');
    const copied = await layerFiles(await blob(manifest.layers[1]!.digest));
    t.is(copied.get('file'), word);

    // The output tag is never pushed.
    t.is(await registryDigest(repository, 'v1'), undefined, 'no manifest at the output tag');
    await t.throwsAsync(skopeoInspect('--raw', `docker://${output}`));
    const tags = (await (await fetch(`http://${env.registry}/v2/${repository}/tags/list`)).json()) as {
      tags?: string[] | null;
    };
    t.deepEqual(tags.tags ?? [], [], 'the repository has no tag at all');

    // Tagged in the daemon as any build's image, with the build's labels (for GC).
    const local = await environmentDocker().getImage(output).inspect();
    t.is(local.Architecture, 'arm64');
    t.is(local.Config.Labels?.['slipway.dev/build'], `platform-${id}`);
  },
);

test.serial(
  'the same build without a platform is built FROM the daemon’s own platform and pushed to the tag',
  async (t) => {
    // What the platform build's checks tell apart: here the base's amd64 variant, the tag pushed.
    t.is(process.arch, 'x64', 'the test daemon is amd64');
    const env = testEnvironment();
    const id = unique();
    const base = await pushMultiPlatformBase(`${env.registry}/test/multi-base-${id}`);
    const git = await startGitServer(t);
    const repo = await git.createRepo('native', {
      Dockerfile: `FROM ${base.reference}\nCOPY file /file\n`,
      file: 'x\n',
    });
    const repository = `test/native-${id}`;
    const output = `${env.registry}/${repository}:v1`;
    const result = await build(t, dockerBuild(`native-${id}`, repo.uri, output), []);
    t.is(result.image, output);
    t.is(await registryDigest(repository, 'v1'), result.digest);
    const config = JSON.parse(await skopeoInspect('--config', `docker://${output}`)) as ImageConfig;
    t.is(config.architecture, 'amd64');
    t.is(config.rootfs.diff_ids[0], base.platforms['linux/amd64'].diffIds[0]);
  },
);
