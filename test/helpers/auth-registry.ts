import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Teardowns } from './teardowns.js';
import bcrypt from 'bcryptjs';
import { tempDir } from './processes.js';
import { serveRegistry } from './registry.js';

/** A real docker-registry on a random loopback port that requires basic auth (htpasswd). */
export async function startAuthRegistry(t: Teardowns, user: string, password: string): Promise<{ address: string }> {
  const dir = await tempDir(t, 'slipway-registry-');
  // docker-registry accepts only bcrypt entries.
  await writeFile(path.join(dir, 'htpasswd'), `${user}:${bcrypt.hashSync(password, 10)}\n`);
  const { address } = await serveRegistry(
    t,
    dir,
    `auth:\n  htpasswd: { realm: slipway-test, path: ${path.join(dir, 'htpasswd')} }\n`,
  );
  return { address };
}
