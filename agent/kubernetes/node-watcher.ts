import { ApiException, CoreV1Api, KubeConfig, Watch, type V1Node } from '@kubernetes/client-node';
import { AbortedError, SlipwayError, errorMessage } from '../../common/errors.js';
export { KubeConfigError, loadKubeConfig } from '../../common/kubernetes/kube-config.js';
import type { Logger } from '../../common/log.js';
import { sleepUnlessAborted as sleep } from '../../common/sleep.js';

/** What the agent needs to know of its Node. */
export interface NodeState {
  name: string;
  /** `spec.unschedulable`: the node is cordoned (kubectl cordon / drain). */
  unschedulable: boolean;
  labels: Readonly<Record<string, string>>;
  resourceVersion: string;
}

/** The Kubernetes API answered a request with an error status (or an ERROR watch event). */
export class KubernetesApiError extends SlipwayError {
  readonly reason = 'KubernetesApiError';
  constructor(
    message: string,
    /** The HTTP status, or the Status object's code; undefined when none was received. */
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The watch's resourceVersion is too old for the API server (410 Gone): list again. */
export class ResourceVersionGoneError extends KubernetesApiError {}

export interface NodeWatcherOptions {
  kubeConfig: KubeConfig;
  /** The Node's name (`spec.nodeName` of the agent's Pod). */
  node: string;
  /** Called after every change of what is known: a new state, or undefined (node gone or not found). */
  onChange: (node: NodeState | undefined) => void;
  log: Logger;
  /** Backoff after a failed list or watch: doubles from the base up to the maximum. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Asks the API server to end each watch after this long; the watcher then watches again. */
  watchTimeoutSeconds?: number;
}

/**
 * Keeps one Node's labels and cordon current, as a client-go reflector does for one object:
 * list it (field selector `metadata.name=<node>`), then watch from the list's resourceVersion,
 * following bookmarks; a watch that ends is started again from the last resourceVersion seen, a
 * 410 Gone lists again, and any other error lists again after a backoff. Errors never escape:
 * they are logged, and the last known state stays until a list says otherwise.
 */
export class NodeWatcher {
  private state: NodeState | undefined;
  private readonly api: CoreV1Api;
  private readonly watch: Watch;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly fieldSelector: string;

  constructor(private readonly o: NodeWatcherOptions) {
    this.api = o.kubeConfig.makeApiClient(CoreV1Api);
    this.watch = new Watch(o.kubeConfig);
    this.fieldSelector = `metadata.name=${o.node}`;
  }

  /** The Node as last seen; undefined before the first list, or when it does not exist. */
  get current(): NodeState | undefined {
    return this.state;
  }

  /** Starts following the node; returns at once (see `current` and `onChange`). */
  start(): void {
    this.loop ??= this.run(this.stopping.signal);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const base = this.o.retryBaseMs ?? 500;
    const max = this.o.retryMaxMs ?? 30_000;
    let delay = base;
    while (!signal.aborted) {
      try {
        let resourceVersion = await this.list(signal);
        delay = base;
        // A watch that ends cleanly (the server's timeout, a closed connection) resumes where it was.
        for (;;) resourceVersion = await this.watchFrom(resourceVersion, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ResourceVersionGoneError) {
          this.o.log.info('node watch expired (410 Gone); listing again', { node: this.o.node });
          continue;
        }
        this.o.log.warn('reading the node from the Kubernetes API failed; retrying', {
          node: this.o.node,
          delayMs: delay,
          error: errorMessage(err),
        });
        await sleep(delay, signal);
        delay = Math.min(max, delay * 2);
      }
    }
  }

  /** Lists the node, records it, and returns the list's resourceVersion to watch from. */
  private async list(signal: AbortSignal): Promise<string> {
    let list;
    try {
      list = await abortable(this.api.listNode({ fieldSelector: this.fieldSelector }), signal);
    } catch (err) {
      if (err instanceof ApiException)
        throw new KubernetesApiError(`listing node "${this.o.node}": HTTP ${err.code}`, err.code, { cause: err });
      throw err;
    }
    const node = list.items.find((n) => n.metadata?.name === this.o.node);
    if (!node)
      this.o.log.warn('the node is not in the Kubernetes API; claiming nothing until it is', { node: this.o.node });
    this.set(node);
    return list.metadata?.resourceVersion ?? '';
  }

  /** One watch request; resolves with the last resourceVersion when the server ends it. */
  private watchFrom(resourceVersion: string, signal: AbortSignal): Promise<string> {
    if (signal.aborted) return Promise.reject(new AbortedError('node watcher stopped'));
    return new Promise<string>((resolve, reject) => {
      let rv = resourceVersion;
      let request: AbortController | undefined;
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        request?.abort();
        if (err) reject(err);
        else resolve(rv);
      };
      const onAbort = () => settle(new AbortedError('node watcher stopped'));
      signal.addEventListener('abort', onAbort, { once: true });
      const query = {
        fieldSelector: this.fieldSelector,
        resourceVersion: rv,
        allowWatchBookmarks: true,
        timeoutSeconds: this.o.watchTimeoutSeconds ?? 300,
      };
      const onEvent = (type: string, obj: unknown) => {
        if (settled) return;
        if (type === 'ERROR') {
          const status = obj as { code?: number; message?: string };
          const message = `node watch: ${status.message ?? 'error'}`;
          settle(
            status.code === 410
              ? new ResourceVersionGoneError(message, 410)
              : new KubernetesApiError(message, status.code),
          );
          return;
        }
        const node = obj as V1Node;
        rv = node.metadata?.resourceVersion ?? rv;
        if (type === 'ADDED' || type === 'MODIFIED') this.set(node);
        else if (type === 'DELETED') {
          this.o.log.warn('the node was deleted from the Kubernetes API; claiming nothing until it is back', {
            node: this.o.node,
          });
          this.set(undefined);
        }
        // BOOKMARK: only the resourceVersion moves on.
      };
      const onDone = (err: unknown) => {
        if (!err) return settle();
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 410) return settle(new ResourceVersionGoneError('node watch: 410 Gone', 410, { cause: err }));
        settle(status ? new KubernetesApiError(`node watch: HTTP ${status}`, status, { cause: err }) : err);
      };
      this.watch.watch('/api/v1/nodes', query, onEvent, onDone).then(
        (controller) => {
          request = controller;
          if (settled) controller.abort();
        },
        (err: unknown) => settle(err),
      );
    });
  }

  private set(node: V1Node | undefined): void {
    const next: NodeState | undefined = node
      ? {
          name: this.o.node,
          unschedulable: node.spec?.unschedulable === true,
          labels: { ...(node.metadata?.labels ?? {}) },
          resourceVersion: node.metadata?.resourceVersion ?? '',
        }
      : undefined;
    const before = this.state;
    this.state = next;
    if (!sameNode(before, next)) this.o.onChange(next);
  }
}

function sameNode(a: NodeState | undefined, b: NodeState | undefined): boolean {
  if (!a || !b) return a === b;
  const la = Object.entries(a.labels).sort().join('\n');
  const lb = Object.entries(b.labels).sort().join('\n');
  return a.unschedulable === b.unschedulable && la === lb;
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortedError('node watcher stopped'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortedError('node watcher stopped'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
