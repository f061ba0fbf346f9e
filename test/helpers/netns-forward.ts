import { createConnection, createServer, type Socket } from 'node:net';
import path from 'node:path';
import type { Teardowns } from './teardowns.js';
import { spawnForTest } from './processes.js';

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b).on('error', () => a.destroy());
  b.pipe(a).on('error', () => b.destroy());
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

/**
 * Makes `address` (host:port on this machine's loopback) answer at the same address inside the
 * network namespace of process `pid` (a container's), as a Pod's loopback would hold a sidecar:
 * a unix socket in `dir` carries each connection across (a socket file reaches any network
 * namespace), and a node process entered into the namespace with nsenter (root only) listens
 * there. Both stop when the test ends.
 */
export async function forwardIntoNetns(t: Teardowns, pid: number, address: string, dir: string): Promise<void> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  const socket = path.join(dir, 'forward.sock');
  const outside = createServer((c) => pipeBoth(c, createConnection({ host, port })));
  await new Promise<void>((resolve) => outside.listen(socket, resolve));
  t.teardown(() => new Promise((resolve) => outside.close(resolve)));
  const inside = `
    const net = require('node:net');
    net.createServer((c) => {
      const u = net.createConnection(${JSON.stringify(socket)});
      c.pipe(u); u.pipe(c);
      c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
    }).listen(${port}, ${JSON.stringify(host)}, () => console.log('listening'));`;
  const child = spawnForTest(t, 'nsenter', [`--net=/proc/${pid}/ns/net`, process.execPath, '-e', inside]);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`the forwarder exited ${code}: ${child.output()}`)));
  });
}
