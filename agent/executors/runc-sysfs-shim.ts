import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A `runc` for a remapped private daemon's BuildKit. The private daemons have no bridge, so a
 * RUN step shares the daemon's network namespace (`networkmode=host`); in a user namespace of
 * its own it does not own that network namespace, and the kernel refuses it a new sysfs ("error
 * mounting "sysfs" to rootfs at "/sys": operation not permitted": every RUN step fails). Newer
 * BuildKit binds the node's /sys read-only instead, as rootless runc does; dockerd 20.10's does
 * not. BuildKit runs the `runc` it finds first on dockerd's PATH, so the daemon gets this one
 * first: for `run` and `create` of a bundle whose spec has a user namespace and no network
 * namespace of its own, it rewrites the sysfs mount as a read-only recursive bind of /sys (and
 * drops the cgroup mount under it, which fails the same way), then execs the real runc. Any
 * other spec or command is passed through unchanged.
 */
export async function writeRuncShim(dir: string, searchPath = process.env.PATH ?? ''): Promise<string> {
  const real = await findOnPath('runc', searchPath);
  if (!real) throw new Error('no runc on the PATH for the private daemon');
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const fix = path.join(dir, 'sysfs-bind.cjs');
  await writeFile(fix, FIX_SCRIPT);
  const shim = path.join(dir, 'runc');
  await writeFile(
    shim,
    [
      '#!/bin/sh',
      'case " $* " in',
      `  *" run "* | *" create "*) ${quote(process.execPath)} ${quote(fix)} "$@" || exit 1 ;;`,
      'esac',
      `exec ${quote(real)} "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(shim, 0o755);
  return dir;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(':').filter(Boolean)) {
    const p = path.join(dir, name);
    if (
      await access(p).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return undefined;
}

/** Rewrites the bundle's config.json as writeRuncShim says (CommonJS, run by the agent's node). */
const FIX_SCRIPT = `'use strict';
const fs = require('fs');
const path = require('path');
const args = process.argv.slice(2);
let bundle = process.cwd();
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--bundle' || args[i] === '-b') bundle = args[i + 1];
  else if (args[i].startsWith('--bundle=')) bundle = args[i].slice('--bundle='.length);
}
const file = path.join(bundle, 'config.json');
let spec;
try {
  spec = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch {
  process.exit(0);
}
const ns = (spec.linux && spec.linux.namespaces) || [];
if (!ns.some((n) => n.type === 'user') || ns.some((n) => n.type === 'network')) process.exit(0);
spec.mounts = (spec.mounts || [])
  .filter((m) => !(m.type === 'cgroup' && m.destination.startsWith('/sys/')))
  .map((m) =>
    m.type === 'sysfs'
      ? { destination: m.destination, type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : m,
  );
fs.writeFileSync(file, JSON.stringify(spec));
`;
