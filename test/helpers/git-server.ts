import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Teardowns } from './teardowns.js';
import { freePort, waitForPort } from './ports.js';
import { run, spawnForTest, tempDir } from './processes.js';

export interface GitServer {
  /** git://HOST:PORT (127.0.0.1 unless told) */
  base: string;
  /** The folder holding the bare repositories (to serve them another way too). */
  root: string;
  /**
   * A new repository served at `${base}/${name}`, with one commit of `files` on branch main.
   * Returns its URI and the commit id.
   */
  createRepo(
    name: string,
    files: Record<string, string>,
    o?: { submodules?: Submodule[] },
  ): Promise<{ uri: string; commit: string }>;
  /**
   * A new commit of `files` (added or changed) in a repository `createRepo` made, pushed to
   * `branch` (main unless told; made when new). Returns the commit id.
   */
  pushCommit(name: string, files: Record<string, string>, o?: { branch?: string; message?: string }): Promise<string>;
}

/** A submodule recorded in a repository: its .gitmodules entry and its gitlink at `commit`. */
export interface Submodule {
  path: string;
  /** As .gitmodules holds it: absolute, or relative (`../other`) to the superproject's URL. */
  url: string;
  commit: string;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Slipway Test',
  GIT_AUTHOR_EMAIL: 'test@slipway.invalid',
  GIT_COMMITTER_NAME: 'Slipway Test',
  GIT_COMMITTER_EMAIL: 'test@slipway.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/**
 * A real `git daemon` serving bare repositories from a temp folder over the git protocol, on
 * loopback or on `o.host` (an address of this machine).
 */
export async function startGitServer(t: Teardowns, o: { host?: string } = {}): Promise<GitServer> {
  const host = o.host ?? '127.0.0.1';
  const root = await tempDir(t, 'slipway-git-');
  const port = await freePort();
  const daemon = spawnForTest(t, 'git', [
    'daemon',
    '--reuseaddr',
    '--export-all',
    `--base-path=${root}`,
    `--listen=${host}`,
    `--port=${port}`,
    root,
  ]);
  await waitForPort(port, undefined, host).catch((err: Error) => {
    throw new Error(`git daemon did not start: ${err.message}\n${daemon.output()}`);
  });
  const base = `git://${host}:${port}`;
  return {
    base,
    root,
    async createRepo(name, files, o = {}) {
      const work = path.join(root, `${name}.work`);
      const subs = o.submodules ?? [];
      if (subs.length > 0)
        files = {
          ...files,
          '.gitmodules': subs.map((s) => `[submodule "${s.path}"]\n\tpath = ${s.path}\n\turl = ${s.url}\n`).join(''),
        };
      for (const [file, content] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(work, file)), { recursive: true });
        await writeFile(path.join(work, file), content);
      }
      const git = (...args: string[]) => run('git', args, { cwd: work, env: GIT_ENV });
      await git('init', '--quiet', '--initial-branch=main');
      await git('add', '.');
      for (const s of subs) await git('update-index', '--add', '--cacheinfo', `160000,${s.commit},${s.path}`);
      await git('commit', '--quiet', '-m', 'initial');
      const commit = (await git('rev-parse', 'HEAD')).trim();
      await run('git', ['clone', '--quiet', '--bare', work, path.join(root, name)], { env: GIT_ENV });
      return { uri: `${base}/${name}`, commit };
    },
    async pushCommit(name, files, o = {}) {
      const work = path.join(root, `${name}.work`);
      const git = (...args: string[]) => run('git', args, { cwd: work, env: GIT_ENV });
      for (const [file, content] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(work, file)), { recursive: true });
        await writeFile(path.join(work, file), content);
      }
      await git('add', '.');
      await git('commit', '--quiet', '-m', o.message ?? 'change');
      const commit = (await git('rev-parse', 'HEAD')).trim();
      await git('push', '--quiet', path.join(root, name), `HEAD:refs/heads/${o.branch ?? 'main'}`);
      return commit;
    },
  };
}
