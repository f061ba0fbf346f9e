/**
 * One build: its status, stages and events from a watch of the build (until it has ended), and
 * its log, followed live. The log follows the build's current attempt; when a new attempt starts
 * the pane says so and follows that one.
 */
import type { Build } from '../../../api/types.js';
import {
  TERMINAL_PHASES,
  ageElement,
  announce,
  apiBuildsPath,
  buildsPath,
  connectionText,
  durationElement,
  el,
  formatDuration,
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

type BuildEvent =
  | { type: 'BUILD'; serverTime: string; revision: number; build: Build }
  | { type: 'DELETED'; name: string }
  | { type: 'END' };
type LogEvent = { type: 'LINE'; attempt: number; line: number; text: string } | { type: 'END' };

// /ui/namespaces/NS/builds/NAME
const [, namespace = 'default', , name = ''] = pathSegments();
const apiPath = `${apiBuildsPath(namespace)}/${encodeURIComponent(name)}`;
let current: Build | undefined;
let deleted = false;

setUpHeader();
rememberNamespace(namespace);
setText('build-name', name);
document.title = `${name} · Builds in ${namespace} · Slipway`;
const back = document.getElementById('back-to-builds') as HTMLAnchorElement;
back.href = buildsPath(namespace);
back.textContent = `All builds in ${namespace}`;

function render(b: Build): void {
  const before = current;
  current = b;
  const s = b.status;
  if (before && before.status.phase !== s.phase)
    announce(`Build ${name} is now ${s.phase}${s.reason && s.phase !== 'Complete' ? ` (${s.reason})` : ''}.`);
  document.getElementById('phase')!.replaceChildren(phaseElement(s.phase, s.reason));
  document.body.dataset.phase = s.phase;

  const facts: [string, Node | string | undefined][] = [
    ['Message', s.message],
    ['Config', `${b.spec.configName} (generation ${b.spec.configGeneration})`],
    ['Cause', b.spec.triggeredBy?.map((c) => (c.message ? `${c.type}: ${c.message}` : c.type)).join('; ') || 'Manual'],
    ['Attempt', s.attempt ? String(s.attempt) : undefined],
    [
      'Previous attempt',
      s.previousAttempt
        ? `${s.previousAttempt.attempt}${s.previousAttempt.agent ? ` on agent ${s.previousAttempt.agent}` : ''}: ${s.previousAttempt.reason}: ${s.previousAttempt.message}`
        : undefined,
    ],
    ['Agent', s.agent],
    ['Node', s.node],
    ['Created', ageElement(b.metadata.creationTimestamp)],
    ['Started', s.startTimestamp ? ageElement(s.startTimestamp) : undefined],
    ['Duration', s.startTimestamp ? durationElement(s.startTimestamp, s.completionTimestamp) : undefined],
    [
      'Source',
      b.spec.config.source.git
        ? `${b.spec.config.source.git.uri}${b.spec.config.source.git.ref ? ` @ ${b.spec.config.source.git.ref}` : ''}`
        : b.spec.config.source.binary
          ? 'uploaded context'
          : 'inline Dockerfile',
    ],
    ['Commit', s.commit],
    ['Image', s.output ? `${s.output.image}@${s.output.digest}` : b.spec.config.output.image],
    ['Exit code', s.exitCode !== undefined ? String(s.exitCode) : undefined],
    ['Cancel requested', s.cancelRequested ? 'yes' : undefined],
  ];
  const dl = document.getElementById('facts')!;
  dl.replaceChildren();
  for (const [term, value] of facts) {
    if (value === undefined || value === '') continue;
    dl.append(el('dt', {}, term), el('dd', {}, value));
  }

  const stages = s.stages ?? [];
  (document.getElementById('stages-section') as HTMLElement).hidden = stages.length === 0;
  document
    .getElementById('stages-body')!
    .replaceChildren(
      ...stages.map((st) =>
        el(
          'tr',
          {},
          el('th', { scope: 'row' }, st.name),
          el('td', {}, ageElement(st.startTimestamp)),
          el('td', {}, formatDuration(st.durationMs)),
        ),
      ),
    );

  const events = s.events ?? [];
  (document.getElementById('events-section') as HTMLElement).hidden = events.length === 0;
  document
    .getElementById('events-body')!
    .replaceChildren(
      ...events.map((ev) =>
        el(
          'tr',
          { 'data-type': ev.type },
          el('td', {}, ageElement(ev.timestamp)),
          el('td', {}, ev.type === 'Warning' ? el('strong', {}, 'Warning') : ev.type),
          el('td', {}, ev.reason),
          el('td', {}, ev.message),
        ),
      ),
    );

  (document.getElementById('snippet-section') as HTMLElement).hidden = !s.logSnippet;
  setText('snippet', s.logSnippet ?? '');

  logs.follow(Math.max(1, s.attempt));
}

/**
 * The log pane: follows one attempt from its next line. Its stream ends at the log's end; then,
 * while the build has not ended (its log may not have started yet), it asks again.
 */
class LogFollower {
  private attempt = 0;
  private nextLine = 1;
  private stop?: () => void;
  private pending = '';
  private flushTimer?: ReturnType<typeof setTimeout>;
  private readonly pane = document.getElementById('log') as HTMLElement;

  follow(attempt: number): void {
    if (attempt === this.attempt) return;
    this.stop?.();
    if (this.attempt !== 0) this.append(`--- attempt ${attempt} ---\n`);
    this.attempt = attempt;
    this.nextLine = 1;
    this.stop = live<LogEvent>({
      open: (signal) =>
        ndjson<LogEvent>(`${apiPath}/log?follow=true&attempt=${attempt}&fromLine=${this.nextLine}`, signal),
      onEvent: (e) => {
        if (e.type !== 'LINE' || e.line < this.nextLine) return;
        this.nextLine = e.line + 1;
        this.append(`${e.text}\n`);
      },
      onState: (state, detail) => {
        // Lines still waiting for the next paint go in first: "End of log." means all of it is shown.
        if (state === 'ended') {
          this.flush();
          setText('log-state', this.nextLine > 1 ? 'End of log.' : 'This attempt wrote no log.');
        } else if (state === 'live') setText('log-state', 'Following the log.');
        // The log ended but the build goes on (or has not started): asked again in a moment.
        else if (state === 'reconnecting' && !detail) setText('log-state', 'Waiting for the log…');
        else setText('log-state', connectionText(state, detail));
      },
      endIsFinal: () =>
        current !== undefined && (TERMINAL_PHASES.has(current.status.phase) || current.status.attempt > this.attempt),
    });
  }

  /** Lines arrive in bursts: they are added in one text node per 50 ms, and the pane stays at the bottom if it was there. */
  private append(text: string): void {
    this.pending += text;
    this.flushTimer ??= setTimeout(() => this.flush(), 50);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.pending) return;
    const atBottom = this.pane.scrollHeight - this.pane.scrollTop - this.pane.clientHeight < 40;
    this.pane.append(document.createTextNode(this.pending));
    this.pending = '';
    if (atBottom) this.pane.scrollTop = this.pane.scrollHeight;
  }
}

const logs = new LogFollower();

live<BuildEvent>({
  open: (signal) => ndjson<BuildEvent>(`${apiPath}?watch=true`, signal),
  onEvent: (e) => {
    if (e.type === 'DELETED') {
      deleted = true;
      announce(`Build ${name} was deleted.`);
    }
    if (e.type !== 'BUILD') return;
    syncClock(e.serverTime);
    render(e.build);
  },
  onState: (state, detail) =>
    setText('connection', deleted ? 'This build was deleted.' : connectionText(state, detail)),
  // The watch ends after the build's last state: nothing more will come.
  endIsFinal: (last) => last?.type === 'END',
});
startTicking();
