import { randomBytes } from 'node:crypto';
import { createLogger } from '../../common/log.js';
import type { BuildTrigger } from '../../proto/generated/slipway/v1/BuildTrigger.js';
import { testEnvironment } from './environment.js';
import type { GitServer } from './git-server.js';
import { dockerBuildConfig, type Slipway } from './slipway.js';

export const unique = () => randomBytes(4).toString('hex');

/** A webhook endpoint's answer: status, raw text, and the JSON it holds (empty when not JSON). */
export interface Answer {
  status: number;
  text: string;
  json: { message?: string; build?: string; duplicate?: boolean };
}

/** POSTs a delivery as a Git host would. */
export async function post(url: string, body: string | undefined, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json = {};
  try {
    json = JSON.parse(text) as object;
  } catch {
    // Not JSON: the test says so when it matters.
  }
  return { status: res.status, text, json };
}

/**
 * A repository with a Dockerfile that copies a file, so every commit builds something, and a
 * BuildConfig of the same name building its main branch with `triggers`.
 */
export async function repoWithConfig(sw: Slipway, git: GitServer, name: string, triggers: BuildTrigger[]) {
  const env = testEnvironment();
  const repo = await git.createRepo(name, {
    Dockerfile: `FROM ${env.baseImage}\nCOPY version /version\n`,
    version: 'v1\n',
  });
  const config = dockerBuildConfig(name, repo.uri, `${env.registry}/test/${name}-${unique()}:latest`);
  config.spec!.triggers = triggers;
  await sw.client.createBuildConfig(config);
  return repo;
}

/** Every line the coordinators logged, at debug level. */
export function capturedLog() {
  const lines: string[] = [];
  return { lines, log: createLogger({}, { level: 'debug', write: (l) => lines.push(l) }) };
}
