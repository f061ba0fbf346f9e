import { randomBytes } from 'node:crypto';
import test from 'ava';
import { startAuthRegistry } from './helpers/auth-registry.js';
import { environmentDocker } from './helpers/docker.js';
import { testEnvironment } from './helpers/environment.js';
import { startGitServer } from './helpers/git-server.js';
import { dockerBuildConfig, startSlipway } from './helpers/slipway.js';

const unique = () => randomBytes(4).toString('hex');

test.serial(
  'a registry that requires auth takes the push with the secret, and refuses it clearly without',
  async (t) => {
    const env = testEnvironment();
    const password = `pw-${unique()}`;
    const registry = await startAuthRegistry(t, 'builder', password);
    const git = await startGitServer(t);
    const sw = await startSlipway(t, { concurrency: 3 });
    const repo = await git.createRepo('private', { Dockerfile: `FROM ${env.baseImage}\nRUN echo ${unique()} > /x\n` });
    await sw.client.createSecret({
      metadata: { name: 'good' },
      type: 'docker-registry',
      registry: registry.address,
      username: 'builder',
      password,
    });
    await sw.client.createSecret({
      metadata: { name: 'bad' },
      type: 'docker-registry',
      registry: registry.address,
      username: 'builder',
      password: 'wrong-password',
    });

    const cases = [
      { name: 'with-secret', secret: 'good', phase: 'Complete' },
      { name: 'no-secret', secret: undefined, phase: 'Failed', message: /without credentials/ },
      { name: 'wrong-secret', secret: 'bad', phase: 'Failed', message: /with the push secret's credentials/ },
    ];
    for (const c of cases) {
      const config = dockerBuildConfig(c.name, repo.uri, `${registry.address}/team/${c.name}:v1`);
      if (c.secret) config.spec!.output!.pushSecret = { name: c.secret };
      await sw.client.createBuildConfig(config);
      await sw.client.startBuild({ namespace: 'default', configName: c.name });
    }
    for (const c of cases) {
      const final = await sw.client.waitForBuild('default', `${c.name}-1`);
      t.is(final.status!.phase, c.phase, `${c.name}: ${final.status!.message}`);
      if (c.phase === 'Failed') {
        t.is(final.status!.reason, 'RegistryAuthFailed', c.name);
        t.regex(final.status!.message, c.message!, c.name);
        t.false(final.status!.message.includes(password));
      }
    }

    // The image is in the registry, as someone with the credentials sees it.
    const done = await sw.client.getBuild('default', 'with-secret-1');
    const res = await fetch(`http://${registry.address}/v2/team/with-secret/manifests/v1`, {
      method: 'HEAD',
      headers: {
        Authorization: `Basic ${Buffer.from(`builder:${password}`).toString('base64')}`,
        Accept: 'application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    t.is(res.status, 200);
    t.is(res.headers.get('docker-content-digest'), done.status!.output!.digest);
  },
);

test.serial(
  'a base image in a registry that requires auth is pulled with the pull secret (by the agent, or by BuildKit through the session for FROM $ARG), and refused clearly without',
  async (t) => {
    const env = testEnvironment();
    const password = `pw-${unique()}`;
    const registry = await startAuthRegistry(t, 'puller', password);
    const docker = environmentDocker();
    // Seed the private registry with the base image.
    const privateBase = `${registry.address}/library/busybox`;
    await docker.getImage(env.baseImage).tag({ repo: privateBase, tag: 'latest' });
    const push = await docker
      .getImage(`${privateBase}:latest`)
      .push({ tag: 'latest', authconfig: { username: 'puller', password, serveraddress: registry.address } });
    await new Promise((resolve, reject) =>
      docker.modem.followProgress(push, (err) => (err ? reject(err) : resolve(undefined))),
    );
    await docker.getImage(`${privateBase}:latest`).remove();

    const sw = await startSlipway(t);
    await sw.client.createSecret({
      metadata: { name: 'pull' },
      type: 'docker-registry',
      registry: registry.address,
      username: 'puller',
      password,
    });
    // `from`: FROM the image, which the agent pulls itself before the build; `arg`: FROM $BASE,
    // which only BuildKit can resolve: it pulls it, asking the build's session for credentials.
    const config = (name: string, from: 'from' | 'arg', pullSecret?: string) => ({
      metadata: { name },
      spec: {
        source: {
          dockerfile:
            from === 'from'
              ? `FROM ${privateBase}:latest\nRUN echo ${unique()} > /x\n`
              : `ARG BASE\nFROM $BASE\nRUN echo ${unique()} > /x\n`,
        },
        strategy: {
          docker: {
            buildArgs: from === 'arg' ? [{ name: 'BASE', value: `${privateBase}:latest` }] : [],
            ...(pullSecret ? { pullSecret: { name: pullSecret } } : {}),
          },
        },
        output: { image: `${env.registry}/test/${name}-${unique()}:v1` },
      },
    });
    // Without the secret first: once pulled, the node's daemon would have the image.
    for (const [name, from, pullSecret, phase] of [
      ['no-pull-secret', 'from', undefined, 'Failed'],
      ['arg-no-pull-secret', 'arg', undefined, 'Failed'],
      ['arg-with-pull-secret', 'arg', 'pull', 'Complete'],
      ['with-pull-secret', 'from', 'pull', 'Complete'],
    ] as const) {
      await sw.client.createBuildConfig(config(name, from, pullSecret));
      await sw.client.startBuild({ namespace: 'default', configName: name });
      const final = await sw.client.waitForBuild('default', `${name}-1`);
      t.is(final.status!.phase, phase, `${name}: ${final.status!.message}`);
      if (phase === 'Failed') t.is(final.status!.reason, 'RegistryAuthFailed', `${name}: ${final.status!.message}`);
      t.false(JSON.stringify(final).includes(password), name);
      const log: string[] = [];
      for await (const l of sw.client.streamBuildLogs({ namespace: 'default', name: `${name}-1` })) log.push(l.text);
      t.false(log.join('\n').includes(password), name);
    }
    await docker
      .getImage(`${privateBase}:latest`)
      .remove()
      .catch(() => {});
  },
);
