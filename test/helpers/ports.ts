import net from 'node:net';
import { eventually } from './eventually.js';

export { freeLoopbackPort as freePort } from '../../common/free-port.js';

/** Resolves once something accepts connections on the port, or rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  await eventually(`something to listen on 127.0.0.1:${port}`, accepts, { timeoutMs, intervalMs: 50 });
}
