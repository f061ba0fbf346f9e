import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import type { Teardowns } from './teardowns.js';
import { freePort, waitForPort } from './ports.js';
import { run, spawnForTest, tempDir } from './processes.js';

export interface SshGitServer {
  /** ssh://user@HOST:PORT (127.0.0.1 unless told) — append an absolute repository path. */
  base: string;
  /** A private key the server accepts. */
  clientKey: string;
  /** A known_hosts line for the server's host key. */
  knownHosts: string;
  /** A freshly made key the server does not know. */
  strangerKey: string;
}

async function keyPair(dir: string, name: string): Promise<{ privateKey: string; publicKey: string }> {
  const file = path.join(dir, name);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return { privateKey: await readFile(file, 'utf8'), publicKey: await readFile(`${file}.pub`, 'utf8') };
}

/**
 * A real OpenSSH server on a random port of loopback (or of `o.host`, an address of this
 * machine) that lets in one key: git over ssh, as a private forge would.
 */
export async function startSshGitServer(t: Teardowns, o: { host?: string } = {}): Promise<SshGitServer> {
  const listen = o.host ?? '127.0.0.1';
  const dir = await tempDir(t, 'slipway-sshd-');
  const port = await freePort();
  const host = await keyPair(dir, 'host');
  const client = await keyPair(dir, 'client');
  const stranger = await keyPair(dir, 'stranger');
  await writeFile(path.join(dir, 'authorized_keys'), client.publicKey, { mode: 0o600 });
  await writeFile(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      `ListenAddress ${listen}`,
      `HostKey ${path.join(dir, 'host')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      '',
    ].join('\n'),
  );
  await mkdir('/run/sshd', { recursive: true }); // sshd's privilege-separation folder
  const sshd = spawnForTest(t, '/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')]);
  await waitForPort(port, undefined, listen).catch((err: Error) => {
    throw new Error(`${err.message}\n${sshd.output()}`);
  });
  const [type, key] = host.publicKey.trim().split(/\s+/);
  return {
    base: `ssh://${userInfo().username}@${listen}:${port}`,
    clientKey: client.privateKey,
    knownHosts: `[${listen}]:${port} ${type} ${key}\n`,
    strangerKey: stranger.privateKey,
  };
}
