/**
 * The builds of one namespace, live: one stream (a snapshot, then every change from its
 * revision) keeps the table current without reloading. Rows are updated in place, so focus and
 * scroll stay where they are; a phase change is also said in the live region.
 */
import type { Build } from '../../../api/types.js';
import {
  ageElement,
  announce,
  apiBuildsPath,
  buildPath,
  buildsPath,
  connectionText,
  durationElement,
  el,
  live,
  ndjson,
  pathSegments,
  phaseElement,
  rememberNamespace,
  setText,
  setUpHeader,
  startTicking,
  syncClock,
} from './common.js';

interface BuildItem {
  revision: number;
  build: Build;
}

type ListEvent =
  | { type: 'SNAPSHOT'; serverTime: string; revision: number; items: BuildItem[] }
  | { type: 'ADDED' | 'MODIFIED'; revision: number; build: Build }
  | { type: 'DELETED'; revision: number; name: string };

// /ui/namespaces/NS/builds
const namespace = pathSegments()[1] ?? 'default';
const rows = new Map<string, { tr: HTMLTableRowElement; build: Build }>();
const tbody = document.getElementById('builds-body') as HTMLTableSectionElement;

setUpHeader();
rememberNamespace(namespace);
setText('namespace-name', namespace);
document.title = `Builds in ${namespace} · Slipway`;
const nsInput = document.getElementById('namespace-input') as HTMLInputElement;
nsInput.value = namespace;
document.getElementById('namespace-form')!.addEventListener('submit', (e) => {
  e.preventDefault();
  const ns = nsInput.value.trim();
  if (ns) location.assign(buildsPath(ns));
});

live<ListEvent>({
  open: (signal) => ndjson<ListEvent>(`${apiBuildsPath(namespace)}?watch=true`, signal),
  onEvent: apply,
  onState: (state, detail) => setText('connection', connectionText(state, detail)),
});
startTicking();

function apply(e: ListEvent): void {
  if (e.type === 'SNAPSHOT') {
    syncClock(e.serverTime);
    // A new connection's snapshot replaces what was shown: builds deleted meanwhile go.
    const names = new Set(e.items.map((i) => i.build.metadata.name));
    for (const [name, row] of rows) {
      if (!names.has(name)) {
        row.tr.remove();
        rows.delete(name);
      }
    }
    for (const i of e.items) upsert(i.build);
  } else if (e.type === 'DELETED') {
    rows.get(e.name)?.tr.remove();
    rows.delete(e.name);
  } else {
    upsert(e.build);
  }
  (document.getElementById('no-builds') as HTMLElement).hidden = rows.size > 0;
  setText('build-count', `${rows.size} build${rows.size === 1 ? '' : 's'}`);
}

function upsert(b: Build): void {
  const name = b.metadata.name;
  const known = rows.get(name);
  const tr = renderRow(b);
  if (known) {
    if (known.build.status.phase !== b.status.phase)
      announce(
        `Build ${name} is now ${b.status.phase}${b.status.reason && b.status.phase !== 'Complete' ? ` (${b.status.reason})` : ''}.`,
      );
    // The row element stays (focus on its link stays); its cells are replaced.
    known.tr.replaceChildren(...tr.childNodes);
    known.tr.dataset.phase = b.status.phase;
    known.build = b;
    return;
  }
  // Newest first: before the first row (in the table's order) that b is newer than.
  const before = Array.from(tbody.rows).find((r) => newer(b, rows.get(r.dataset.build!)!.build)) ?? null;
  rows.set(name, { tr, build: b });
  tbody.insertBefore(tr, before);
}

/** Whether a comes before b in the table (created later; by build number when at the same time). */
function newer(a: Build, b: Build): boolean {
  const t = a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp);
  if (t !== 0) return t > 0;
  return a.metadata.name.localeCompare(b.metadata.name, undefined, { numeric: true }) > 0;
}

function renderRow(b: Build): HTMLTableRowElement {
  const s = b.status;
  const tr = el('tr', { 'data-build': b.metadata.name, 'data-phase': s.phase });
  const link = el('a', { href: buildPath(b.metadata.namespace, b.metadata.name) }, b.metadata.name);
  const where = s.agent ? `${s.agent}${s.node ? ` on ${s.node}` : ''}` : '—';
  const cause = b.spec.triggeredBy?.[0];
  const causeCell = el('td', { class: 'cause' });
  if (cause) {
    causeCell.append(el('span', { class: 'cause-type' }, cause.type));
    if (cause.message) causeCell.append(el('span', { class: 'cause-message' }, cause.message));
  } else {
    causeCell.append('Manual');
  }
  tr.append(
    el('th', { scope: 'row' }, link),
    el('td', { class: 'phase-cell' }, phaseElement(s.phase, s.reason)),
    el('td', {}, b.spec.configName),
    el('td', {}, where),
    el('td', { class: 'duration' }, durationElement(s.startTimestamp, s.completionTimestamp)),
    el('td', { class: 'age' }, ageElement(b.metadata.creationTimestamp)),
    causeCell,
  );
  return tr;
}
