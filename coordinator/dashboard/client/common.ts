/**
 * What every dashboard page shares, in the browser: the API token, calls and NDJSON streams that
 * reconnect, and formatting. Compiled by tsc with the rest (DOM types) and served as a module
 * from /ui/assets/; it imports nothing but its siblings.
 *
 * Data from the API only ever reaches the page as text (`textContent`, attribute values):
 * never as HTML.
 */

const TOKEN_KEY = 'slipway.token';
const NAMESPACE_KEY = 'slipway.namespace';

/** An answer of the API that was not 2xx, or an ERROR line of a stream. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** The namespace the builds pages last showed (for the navigation's link). */
export function rememberNamespace(ns: string): void {
  sessionStorage.setItem(NAMESPACE_KEY, ns);
}

export function buildsPath(ns: string): string {
  return `/ui/namespaces/${encodeURIComponent(ns)}/builds`;
}

export function buildPath(ns: string, name: string): string {
  return `${buildsPath(ns)}/${encodeURIComponent(name)}`;
}

export function apiBuildsPath(ns: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/builds`;
}

/** The path's segments after `/ui/`, decoded. */
export function pathSegments(): string[] {
  return location.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
}

async function apiFetch(path: string, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, { headers, signal, cache: 'no-store', credentials: 'omit' });
  if (!res.ok) {
    let body: { reason?: string; message?: string } = {};
    try {
      body = (await res.json()) as typeof body;
    } catch {
      // Not ours (a proxy's page): the status says enough.
    }
    throw new ApiError(res.status, body.reason ?? res.statusText, body.message ?? `HTTP ${res.status}`);
  }
  return res;
}

export async function apiGet<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await apiFetch(path, signal)).json()) as T;
}

/**
 * The lines of an NDJSON answer as objects, as they arrive. fetch rather than EventSource:
 * EventSource cannot send an Authorization header. An ERROR line is thrown as ApiError.
 */
export async function* ndjson<T extends { type: string }>(path: string, signal: AbortSignal): AsyncGenerator<T> {
  const res = await apiFetch(path, signal);
  if (!res.body) throw new ApiError(0, 'NoBody', 'the answer has no body');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.trim()) continue;
        const event = JSON.parse(line) as T & { code?: number; reason?: string; message?: string };
        if (event.type === 'PING') continue;
        if (event.type === 'ERROR')
          throw new ApiError(event.code ?? 0, event.reason ?? 'Error', event.message ?? 'the stream failed');
        yield event;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

export type ConnectionState =
  'connecting' | 'live' | 'reconnecting' | 'ended' | 'needs-token' | 'forbidden' | 'not-found' | 'failed';

export interface LiveOptions<T> {
  /** The stream to read (opened anew on every connection). */
  open: (signal: AbortSignal) => AsyncIterable<T>;
  onEvent: (event: T) => void;
  onState: (state: ConnectionState, detail?: string) => void;
  /** Whether the stream's normal end is final (else it is opened again). */
  endIsFinal?: (lastEvent: T | undefined) => boolean;
}

/**
 * Keeps a stream open: reads it, and when it breaks opens it again (1 s, doubling to 15 s; each
 * new stream starts from a fresh snapshot, so nothing is missed). Stops for 401/403/404 until a
 * new token is given. Returns a function that stops it.
 */
export function live<T>(o: LiveOptions<T>): () => void {
  let stopped = false;
  let current: AbortController | undefined;
  let delay = 1000;
  let waiting: (() => void) | undefined;
  const wake = () => waiting?.();
  window.addEventListener('slipway:token', wake);

  const run = async () => {
    while (!stopped) {
      current = new AbortController();
      let last: T | undefined;
      let gotAny = false;
      try {
        for await (const e of o.open(current.signal)) {
          if (!gotAny) {
            gotAny = true;
            delay = 1000;
            o.onState('live');
          }
          last = e;
          o.onEvent(e);
        }
        if (o.endIsFinal?.(last)) {
          o.onState('ended');
          return;
        }
        o.onState('reconnecting');
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiError && (err.code === 401 || err.code === 403 || err.code === 404)) {
          const state = err.code === 401 ? 'needs-token' : err.code === 403 ? 'forbidden' : 'not-found';
          o.onState(state, err.message);
          if (err.code !== 404) askForToken(err.message);
          // Wait for a new token, then try again.
          await new Promise<void>((resolve) => (waiting = resolve));
          waiting = undefined;
          o.onState('connecting');
          continue;
        }
        o.onState('reconnecting', err instanceof Error ? err.message : String(err));
      }
      if (stopped) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  };
  o.onState('connecting');
  void run();
  return () => {
    stopped = true;
    current?.abort();
    window.removeEventListener('slipway:token', wake);
    wake();
  };
}

/** Shows the token form with why it is asked for, and moves focus to it. */
export function askForToken(why: string): void {
  const form = document.getElementById('token-form') as HTMLFormElement | null;
  if (!form) return;
  setText('token-why', why);
  form.hidden = false;
  (document.getElementById('token-input') as HTMLInputElement | null)?.focus();
}

/** Wires the header: the token form, the forget button, the navigation's builds link. */
export function setUpHeader(): void {
  const form = document.getElementById('token-form') as HTMLFormElement;
  const input = document.getElementById('token-input') as HTMLInputElement;
  const forget = document.getElementById('token-forget') as HTMLButtonElement;
  const nav = document.getElementById('nav-builds') as HTMLAnchorElement | null;
  const ns = sessionStorage.getItem(NAMESPACE_KEY);
  if (nav && ns) nav.href = buildsPath(ns);
  forget.hidden = !storedToken();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    input.value = '';
    form.hidden = true;
    forget.hidden = false;
    window.dispatchEvent(new Event('slipway:token'));
  });
  forget.addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    forget.hidden = true;
    window.dispatchEvent(new Event('slipway:token'));
  });
}

/** Says `text` to screen readers (the page's polite live region). */
export function announce(text: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  // A new text node each time, so the same words twice are announced twice.
  region.textContent = '';
  region.append(document.createTextNode(text));
}

export function setText(id: string, text: string): void {
  const e = document.getElementById(id);
  if (e) e.textContent = text;
}

/** What a connection state reads as in the page's status line. */
export function connectionText(state: ConnectionState, detail?: string): string {
  switch (state) {
    case 'connecting':
      return 'Connecting…';
    case 'live':
      return 'Live: updates appear as they happen.';
    case 'reconnecting':
      return `Connection lost; reconnecting…${detail ? ` (${detail})` : ''}`;
    case 'ended':
      return 'Finished: nothing more will change.';
    case 'needs-token':
      return `A token is needed: ${detail ?? ''}`;
    case 'forbidden':
      return `Not allowed: ${detail ?? ''}`;
    case 'not-found':
      return `Not found: ${detail ?? ''}`;
    case 'failed':
      return `Failed: ${detail ?? ''}`;
  }
}

/** An element with attributes and children; strings become text nodes (never HTML). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

// --- time: ages and durations against the server's clock ------------------------------------

let clockOffsetMs = 0;

/** Ages are measured on the server's clock, so a browser whose clock is off shows them right. */
export function syncClock(serverTime: string | undefined): void {
  const t = serverTime ? Date.parse(serverTime) : NaN;
  if (!Number.isNaN(t)) clockOffsetMs = t - Date.now();
}

export function now(): number {
  return Date.now() + clockOffsetMs;
}

/** 45s, 3m 05s, 2h 10m, 3d 4h. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A `<time>` showing how long ago `iso` was; `tick` keeps every such element current. */
export function ageElement(iso: string | undefined): HTMLElement {
  if (!iso) return el('span', {}, '—');
  const t = el('time', { datetime: iso, 'data-age': iso, title: iso });
  t.textContent = `${formatDuration(now() - Date.parse(iso))} ago`;
  return t;
}

/** How long from `start` to `end` (or now, counting, when it has not ended). */
export function durationElement(start: string | undefined, end: string | undefined): HTMLElement {
  if (!start) return el('span', {}, '—');
  if (end) return el('span', {}, formatDuration(Date.parse(end) - Date.parse(start)));
  const e = el('span', { 'data-since': start });
  e.textContent = formatDuration(now() - Date.parse(start));
  return e;
}

/** Brings every age and running duration on the page up to date (once a second). */
export function startTicking(): void {
  setInterval(() => {
    const n = now();
    document
      .querySelectorAll<HTMLElement>('[data-age]')
      .forEach((e) => (e.textContent = `${formatDuration(n - Date.parse(e.dataset.age!))} ago`));
    document
      .querySelectorAll<HTMLElement>('[data-since]')
      .forEach((e) => (e.textContent = formatDuration(n - Date.parse(e.dataset.since!))));
  }, 1000);
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined || n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

// --- phases: a symbol and a word, never colour alone -----------------------------------------

const PHASE_SYMBOLS: Record<string, string> = {
  New: '○',
  Pending: '…',
  Running: '▶',
  Complete: '✓',
  Failed: '✗',
  Error: '!',
  Cancelled: '⊘',
};

export const TERMINAL_PHASES = new Set(['Complete', 'Failed', 'Error', 'Cancelled']);

/** The phase as a symbol (hidden from screen readers) and its name, styled by `data-phase`. */
export function phaseElement(phase: string, reason?: string): HTMLElement {
  const e = el('span', { class: 'phase', 'data-phase': phase });
  e.append(
    el('span', { class: 'phase-symbol', 'aria-hidden': 'true' }, PHASE_SYMBOLS[phase] ?? '?'),
    ' ',
    el('span', { class: 'phase-name' }, phase),
  );
  if (reason && phase !== 'Complete') e.append(' ', el('span', { class: 'reason' }, `(${reason})`));
  return e;
}
