import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Makes a connection write what it sends in one turn of the event loop as one socket write.
 *
 * nats.js flushes its outbound buffer in a microtask after the first message queued, so a
 * coordinator sending a build's writes from separate continuations made one `write(2)` per
 * message: socket writes were its largest single cost (12% of its busy time, bench/README.md).
 * This corks the socket at the first send of a turn and uncorks it in `setImmediate`, after the
 * turn's I/O callbacks, so Node hands the turn's frames to the kernel at once. In the scale
 * benchmark socket writes fell from 12.0% to 7.2% of the coordinator's busy time, and its CPU a
 * build by 7% (four pairs, alternating, each pair lower: 2.78 → 2.59 ms on average); a message
 * waits at most for the rest of its turn.
 *
 * nats.js has no option for it, so this reaches into its internals (`protocol.transport`,
 * replaced at every reconnect, and the transport's `send` and `socket`): when they are not as
 * expected (another version), nothing is changed and false is returned; `isCoalescing` tells
 * (test/nats-coalesced-writes.test.ts fails then, so an upgrade that drops it is noticed).
 */
export function coalesceWrites(nc: NatsConnection): boolean {
  const protocol = (nc as unknown as { protocol?: { transport?: unknown } }).protocol;
  if (!protocol || !isTransport(protocol.transport)) return false;
  let current: unknown = hook(protocol.transport);
  Object.defineProperty(protocol, 'transport', {
    configurable: true,
    enumerable: true,
    get: () => current,
    // A reconnect makes a new transport: it coalesces too.
    set: (next: unknown) => {
      current = isTransport(next) ? hook(next) : next;
    },
  });
  return true;
}

/** Whether the connection's current transport coalesces its writes. */
export function isCoalescing(nc: NatsConnection): boolean {
  const transport = (nc as unknown as { protocol?: { transport?: unknown } }).protocol?.transport;
  return isTransport(transport) && HOOKED.has(transport);
}

interface Transport {
  send(frame: Uint8Array): void;
  socket?: { cork(): void; uncork(): void };
}

const HOOKED = new WeakSet<object>();

function isTransport(t: unknown): t is Transport {
  return typeof t === 'object' && t !== null && typeof (t as Transport).send === 'function';
}

function hook<T extends Transport>(transport: T): T {
  if (HOOKED.has(transport)) return transport;
  const send = transport.send.bind(transport);
  let corked = false;
  transport.send = (frame: Uint8Array) => {
    const socket = transport.socket;
    if (!corked && socket && typeof socket.cork === 'function') {
      corked = true;
      socket.cork();
      setImmediate(() => {
        corked = false;
        socket.uncork();
      });
    }
    return send(frame);
  };
  HOOKED.add(transport);
  return transport;
}
