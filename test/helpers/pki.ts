import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Teardowns } from './teardowns.js';
import { run, tempDir } from './processes.js';

export interface TestPki {
  dir: string;
  /** A serving certificate, self-signed for 127.0.0.1, and its key. */
  serverCert: string;
  serverKey: string;
  /** The certificate of the CA made under `name`. */
  caCert(name: string): string;
  /** A client certificate for `cn` signed by CA `ca` (with subjectAltName DNS:cn when `san`): [cert, key] paths. */
  client(name: string, cn: string, ca: string, o?: { san?: boolean }): Promise<[string, string]>;
}

/** Certificates made with the real openssl in a temp folder: a server's, and CAs named by their common names. */
export async function makeTestPki(t: Teardowns, cas: Record<string, string>): Promise<TestPki> {
  const dir = await tempDir(t, 'slipway-pki-');
  const p = (f: string) => path.join(dir, f);
  const ssl = (...args: string[]) => run('openssl', args);
  await ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    p('server.key'),
    '-out',
    p('server.crt'),
  );
  for (const [name, cn] of Object.entries(cas)) {
    await ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.crt`),
    );
  }
  return {
    dir,
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    caCert: (name) => p(`${name}.crt`),
    async client(name, cn, ca, o = {}) {
      await writeFile(p(`${name}.ext`), `extendedKeyUsage=clientAuth\n${o.san ? `subjectAltName=DNS:${cn}\n` : ''}`);
      await ssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        p(`${name}.key`),
        '-out',
        p(`${name}.csr`),
      );
      await ssl(
        'x509',
        '-req',
        '-in',
        p(`${name}.csr`),
        '-CA',
        p(`${ca}.crt`),
        '-CAkey',
        p(`${ca}.key`),
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        p(`${name}.ext`),
        '-out',
        p(`${name}.crt`),
      );
      return [p(`${name}.crt`), p(`${name}.key`)];
    },
  };
}
