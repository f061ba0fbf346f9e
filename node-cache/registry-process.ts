import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { freeLoopbackPort } from '../common/free-port.js';
import type { Logger } from '../common/log.js';

export interface RegistryProcessOptions {
  /** The docker-registry (distribution 2.8) binary. */
  binary: string;
  /** Holds `registry.yml` (0600: it has the upstream credentials), `registry.pid` and `storage/`. */
  root: string;
  upstream: string;
  username: string;
  password: string;
  /** How long the first start may take to answer on /v2/. */
  startTimeoutMs: number;
  log: Logger;
  /** Called each time the registry is started again after it exited on its own. */
  onRestart?: () => void;
}

/**
 * A real docker-registry in `proxy:` mode on a loopback port of its own, supervised: started
 * again (after 0.5 s, doubling to 10 s while it keeps failing) whenever it exits without being
 * asked to. Registry 2.8 panics at start when the upstream cannot be reached, so this also
 * covers an upstream that is down when the node boots.
 *
 * Nothing but the front (same process) talks to it; its port is fixed for the life of this
 * object so restarts are invisible to the front.
 */
export class RegistryProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs = 500;
  private output = '';

  private constructor(
    private readonly o: RegistryProcessOptions,
    /** 127.0.0.1:port it listens on. */
    readonly address: string,
  ) {}

  get configPath(): string {
    return path.join(this.o.root, 'registry.yml');
  }

  get storageRoot(): string {
    return path.join(this.o.root, 'storage');
  }

  private get pidPath(): string {
    return path.join(this.o.root, 'registry.pid');
  }

  /** The running registry's pid (for supervision checks and tests); undefined while it is down. */
  get pid(): number | undefined {
    const c = this.child;
    return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  /**
   * Writes the config, kills a registry an earlier (killed) run of this cache left on the same
   * root, starts the registry and waits until it answers.
   * @throws Error with its last output (credentials masked) when it does not answer in time.
   */
  static async start(o: RegistryProcessOptions): Promise<RegistryProcess> {
    await mkdir(path.join(o.root, 'storage'), { recursive: true });
    const r = new RegistryProcess(o, `127.0.0.1:${await freeLoopbackPort()}`);
    await r.killLeftover();
    await r.writeConfig();
    r.spawn();
    try {
      await r.waitReady(o.startTimeoutMs);
    } catch (err) {
      await r.stop();
      throw new Error(`docker-registry did not start: ${(err as Error).message}; it said: ${r.lastOutput()}`, {
        cause: err,
      });
    }
    return r;
  }

  /** Stops the registry (TERM, then KILL after 5 s) and stops supervising it. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(killed);
    }
    await rm(this.pidPath, { force: true });
  }

  /** Resolves when the registry answers GET /v2/, or rejects after `timeoutMs`. */
  async waitReady(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const ok = await fetch(`http://${this.address}/v2/`, { signal: AbortSignal.timeout(2000) }).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) return;
      if (this.stopping) throw new Error('stopped');
      if (Date.now() > until) throw new Error(`no answer on ${this.address} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async writeConfig(): Promise<void> {
    const proxy: Record<string, string> = { remoteurl: this.o.upstream };
    if (this.o.username) Object.assign(proxy, { username: this.o.username, password: this.o.password });
    const config = {
      version: 0.1,
      // Access lines would name every request; the front counts what matters.
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: this.storageRoot } },
      http: { addr: this.address, secret: randomBytes(16).toString('hex') },
      proxy,
    };
    // Created 0600 before anything is written, and chmod'ed in case an older file was looser.
    const file = await open(this.configPath, 'w', 0o600);
    try {
      await file.chmod(0o600);
      await file.writeFile(stringify(config));
    } finally {
      await file.close();
    }
    await chmod(this.configPath, 0o600);
  }

  private spawn(): void {
    const child = spawn(this.o.binary, ['serve', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const onData = (d: Buffer) => {
      const text = this.mask(d.toString());
      this.output = (this.output + text).slice(-4000);
      for (const line of text.split('\n')) {
        if (/level=(error|fatal|panic)|^panic:/.test(line))
          this.o.log.warn('docker-registry', { line: line.slice(0, 1000) });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) =>
      this.o.log.error('could not run docker-registry', { binary: this.o.binary, error: err.message }),
    );
    if (child.pid) void writeFile(this.pidPath, String(child.pid)).catch(() => {});
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        resolve();
        if (this.stopping) return;
        this.o.log.warn('docker-registry exited; starting it again', {
          code,
          signal,
          inMs: this.backoffMs,
          output: this.lastOutput(),
        });
        this.restartTimer = setTimeout(() => {
          if (this.stopping) return;
          this.o.onRestart?.();
          this.spawn();
          void this.waitReady(10_000).then(
            () => (this.backoffMs = 500),
            () => {},
          );
        }, this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
      }),
    );
  }

  /** A registry an earlier run started for this same config file, still running: killed. */
  private async killLeftover(): Promise<void> {
    const pid = Number(await readFile(this.pidPath, 'utf8').catch(() => ''));
    if (!pid) return;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmd.includes(this.configPath)) return;
    this.o.log.warn('killing a docker-registry an earlier run left', { pid });
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    for (let i = 0; i < 50 && (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')); i++)
      await new Promise((r) => setTimeout(r, 100));
  }

  private lastOutput(): string {
    return this.output.trim().split('\n').slice(-5).join(' | ');
  }

  /** Whatever the registry prints passes through here: the password never leaves this object. */
  private mask(text: string): string {
    const p = this.o.password;
    if (!p) return text;
    const forms = [p, encodeURIComponent(p), Buffer.from(`${this.o.username}:${p}`).toString('base64')];
    return forms.reduce((t, f) => t.split(f).join('***'), text);
  }
}
