import net from 'node:net';
import { eventually } from './eventually.js';

export { freeLoopbackPort as freePort } from '../../common/free-port.js';

/** Resolves once something accepts connections on the port (of `host`, loopback unless told), or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 15_000, host = '127.0.0.1'): Promise<void> {
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  await eventually(`something to listen on ${host}:${port}`, accepts, { timeoutMs, intervalMs: 50 });
}
