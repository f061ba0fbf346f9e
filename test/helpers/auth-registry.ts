import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Teardowns } from './teardowns.js';
import bcrypt from 'bcryptjs';
import { freePort, waitForPort } from './ports.js';
import { spawnForTest, tempDir } from './processes.js';

/** A real docker-registry on a random loopback port that requires basic auth (htpasswd). */
export async function startAuthRegistry(t: Teardowns, user: string, password: string): Promise<{ address: string }> {
  const dir = await tempDir(t, 'slipway-registry-');
  const port = await freePort();
  // docker-registry accepts only bcrypt entries.
  await writeFile(path.join(dir, 'htpasswd'), `${user}:${bcrypt.hashSync(password, 10)}\n`);
  await writeFile(
    path.join(dir, 'config.yml'),
    `version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: ${path.join(dir, 'data')} }
http: { addr: 127.0.0.1:${port} }
auth:
  htpasswd: { realm: slipway-test, path: ${path.join(dir, 'htpasswd')} }
`,
  );
  const registry = spawnForTest(t, 'docker-registry', ['serve', path.join(dir, 'config.yml')]);
  await waitForPort(port).catch((err: Error) => {
    throw new Error(`${err.message}\n${registry.output()}`);
  });
  return { address: `127.0.0.1:${port}` };
}
