/**
 * The agents, as their latest heartbeats say: node, capacity, running builds, cache figures,
 * last heartbeat, cordon. Heartbeats come every few seconds per agent, so the page asks again
 * every 5 s rather than streaming every heartbeat.
 */
import type { AgentRecord } from '../../agents/agent-registry.js';
import {
  ApiError,
  ageElement,
  apiGet,
  askForToken,
  buildPath,
  el,
  formatBytes,
  setText,
  setUpHeader,
  startTicking,
  syncClock,
} from './common.js';

type AgentItem = AgentRecord & { silent: boolean };

const REFRESH_MS = 5000;
const tbody = document.getElementById('agents-body') as HTMLTableSectionElement;
let timer: ReturnType<typeof setTimeout> | undefined;

setUpHeader();
window.addEventListener('slipway:token', () => void refresh());
startTicking();
void refresh();

async function refresh(): Promise<void> {
  clearTimeout(timer);
  try {
    const answer = await apiGet<{ serverTime: string; items: AgentItem[] }>('/api/v1/agents');
    syncClock(answer.serverTime);
    show(answer.items);
    (document.getElementById('no-agents') as HTMLElement).hidden = answer.items.length > 0;
    setText('agent-count', `${answer.items.length} agent${answer.items.length === 1 ? '' : 's'}`);
    setText('connection', `Updated every ${REFRESH_MS / 1000} s.`);
  } catch (err) {
    if (err instanceof ApiError && (err.code === 401 || err.code === 403)) {
      setText('connection', `${err.code === 401 ? 'A token is needed' : 'Not allowed'}: ${err.message}`);
      askForToken(err.message);
      return; // Asked again when a token is given.
    }
    setText('connection', `Could not load agents; trying again (${err instanceof Error ? err.message : String(err)})`);
  }
  timer = setTimeout(() => void refresh(), REFRESH_MS);
}

const rows = new Map<string, { tr: HTMLTableRowElement; key: string }>();

/**
 * Rows are changed only when what they show changed (a heartbeat alone moves the time only), so
 * keyboard focus on a build's link is not lost every few seconds.
 */
function show(items: AgentItem[]): void {
  const names = new Set(items.map((a) => a.agent));
  for (const [agent, r] of rows) {
    if (!names.has(agent)) {
      r.tr.remove();
      rows.delete(agent);
    }
  }
  for (const a of items) {
    const key = JSON.stringify({ ...a, lastHeartbeat: undefined });
    const known = rows.get(a.agent);
    if (!known) {
      const tr = row(a);
      rows.set(a.agent, { tr, key });
      tbody.append(tr);
    } else if (known.key !== key) {
      known.tr.replaceChildren(...row(a).childNodes);
      known.key = key;
    } else {
      const t = known.tr.querySelector<HTMLElement>('[data-age]');
      if (t) {
        t.dataset.age = a.lastHeartbeat;
        t.setAttribute('datetime', a.lastHeartbeat);
        t.title = a.lastHeartbeat;
      }
    }
  }
}

function row(a: AgentItem): HTMLTableRowElement {
  const state = el('td', { class: 'agent-state' });
  state.append(el('span', { 'data-state': a.silent ? 'silent' : 'live' }, a.silent ? '✗ silent' : '✓ heartbeating'));
  if (a.cordoned) state.append(' ', el('span', { 'data-state': 'cordoned' }, '⊘ cordoned'));

  const running = el('td', { class: 'running' });
  if (a.running.length === 0) running.append('none');
  else {
    const list = el('ul');
    for (const r of a.running) {
      // namespace/build/attempt
      const [ns = '', build = '', attempt = ''] = r.split('/');
      list.append(
        el('li', {}, el('a', { href: buildPath(ns, build) }, `${ns}/${build}`), attempt ? ` (attempt ${attempt})` : ''),
      );
    }
    running.append(list);
  }

  const c = a.cache;
  const cacheTotal = c ? c.nodeCacheHits + c.nodeCacheMisses : 0;
  return el(
    'tr',
    { 'data-agent': a.agent },
    el('th', { scope: 'row' }, a.agent),
    el('td', {}, a.node || '—'),
    state,
    el(
      'td',
      { class: 'num' },
      a.capacity !== undefined ? `${a.running.length} of ${a.capacity}` : `${a.running.length} (capacity not reported)`,
    ),
    running,
    el('td', { class: 'num' }, c ? formatBytes(c.imageBytes) : 'not reported'),
    el('td', { class: 'num' }, c ? formatBytes(c.gcReclaimedBytes) : 'not reported'),
    el(
      'td',
      { class: 'num' },
      c
        ? `${c.nodeCacheHits} hits, ${c.nodeCacheMisses} misses${cacheTotal ? ` (${Math.round((100 * c.nodeCacheHits) / cacheTotal)}% hits)` : ''}`
        : 'not reported',
    ),
    el('td', {}, ageElement(a.lastHeartbeat)),
  );
}
