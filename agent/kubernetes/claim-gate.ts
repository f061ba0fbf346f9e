/**
 * Open while the agent may take new jobs: its node is known and not cordoned. Pull loops wait
 * at the gate before each pull; builds already running are not affected.
 */
export class ClaimGate {
  private waiters: (() => void)[] = [];

  constructor(private open: boolean) {}

  get isOpen(): boolean {
    return this.open;
  }

  set(open: boolean): void {
    this.open = open;
    if (!open) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once the gate is open, or when `signal` aborts (the caller checks which). */
  wait(signal: AbortSignal): Promise<void> {
    if (this.open || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
