import { longestStage } from '../api/types.js';
import type { Build__Output } from '../proto/generated/slipway/v1/Build.js';
import type { BuildStatus__Output } from '../proto/generated/slipway/v1/BuildStatus.js';
import type { BuildStage__Output } from '../proto/generated/slipway/v1/BuildStage.js';

/** Columns padded to their widest cell, kubectl style. */
export function table(header: string[], rows: string[][]): string {
  if (rows.length === 0) return 'No resources found.\n';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('') + '\n';
  return line(header) + rows.map(line).join('');
}

/** "5s", "3m", "2h", "4d" since the timestamp. */
export function formatAge(timestamp: string, now = new Date()): string {
  if (!timestamp) return '-';
  return formatDuration(now.getTime() - new Date(timestamp).getTime());
}

export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function describeBuild(b: Build__Output, now = new Date()): string {
  const s = b.status!;
  const c = b.spec!.config!;
  const rows: [string, string | undefined][] = [
    ['Name', b.metadata!.name],
    ['Namespace', b.metadata!.namespace],
    ['Config', `${b.spec!.configName} (generation ${b.spec!.configGeneration})`],
    ['Phase', s.phase],
    ['Reason', s.reason],
    ['Message', s.message],
    ['Exit code', s.exitCode >= 0 ? String(s.exitCode) : undefined],
    ['Attempt', String(s.attempt)],
    ['Previous attempt', previousAttempt(s.previousAttempt, now)],
    ['Node', s.node],
    ['Agent', s.agent],
    [
      'Source',
      c.source!.git
        ? `${c.source!.git.uri}${c.source!.git.ref ? ' at ' + c.source!.git.ref : ''}${c.source!.contextDir ? ' (context ' + c.source!.contextDir + ')' : ''}`
        : undefined,
    ],
    ['Source images', sourceImages(b)],
    ['Commit', s.commit],
    c.strategy?.source
      ? [
          'Strategy',
          `Source-to-Image, builder ${c.strategy.source.builderImage}${c.strategy.source.incremental ? ', incremental' : ''}`,
        ]
      : c.strategy?.custom
        ? [
            'Strategy',
            `Custom, builder ${c.strategy.custom.image}${c.strategy.custom.exposeDockerSocket ? ', with a Docker daemon' : ''}`,
          ]
        : ['Dockerfile', c.source!.dockerfile ? '(inline)' : c.strategy?.docker?.dockerfilePath || 'Dockerfile'],
    ['Output', c.output!.image],
    ['Platforms', c.output!.platforms.length > 0 && !b.spec!.parent ? c.output!.platforms.join(', ') : undefined],
    [
      'Platform',
      b.spec!.platform ? `${b.spec!.platform} (part of build ${b.spec!.parent}; pushed by digest)` : undefined,
    ],
    ['Security', c.security?.unprivileged ? 'unprivileged (runs only in a user namespace)' : undefined],
    ['Image', s.output ? `${s.output.image}@${s.output.digest}` : undefined],
    ['Created', b.metadata!.creationTimestamp],
    ['Queued', s.queuedTimestamp],
    ['Started', s.startTimestamp],
    ['Completed', s.completionTimestamp],
    ['Duration', s.startTimestamp && s.completionTimestamp ? buildDuration(b) : undefined],
  ];
  const shown = rows.filter(([, v]) => v);
  const width = Math.max(...shown.map(([k]) => k.length)) + 2;
  return [
    shown.map(([k, v]) => `${(k + ':').padEnd(width)}${v}\n`).join(''),
    section('Cause', causeRows(b)),
    section(
      'Platforms',
      s.platforms.length === 0
        ? undefined
        : indent(
            table(
              ['PLATFORM', 'BUILD', 'PHASE', 'NODE', 'LONGEST STAGE', 'DIGEST', 'REASON'],
              s.platforms.map((p) => [
                p.platform,
                p.build,
                p.phase,
                p.node || '<none>',
                stageCell(p.stages),
                p.digest || '<none>',
                p.reason ? `${p.reason}: ${p.message}` : '',
              ]),
            ),
          ),
    ),
    section(
      'Stages',
      s.stages.length === 0
        ? undefined
        : indent(
            table(
              ['STAGE', 'STARTED', 'DURATION'],
              s.stages.map((st) => [st.name, st.startTimestamp, formatStageDuration(Number(st.durationMs))]),
            ),
          ),
    ),
    section(
      'Events',
      s.events.length === 0
        ? undefined
        : indent(
            table(
              ['TYPE', 'REASON', 'AGE', 'MESSAGE'],
              // One row per event: a message of several lines is put on one.
              s.events.map((e) => [e.type, e.reason, formatAge(e.timestamp, now), e.message.replace(/\s*\n\s*/g, ' ')]),
            ),
          ),
    ),
    s.logSnippet
      ? section('Log snippet', indent(s.logSnippet.endsWith('\n') ? s.logSnippet : `${s.logSnippet}\n`))
      : '',
  ].join('');
}

/**
 * The images the build copies paths out of, `; ` between them: each as the config names it, with the
 * digest the build resolved it to once it has (`status.sourceImages`), and its paths.
 */
function sourceImages(b: Build__Output): string | undefined {
  const images = b.spec?.config?.source?.images ?? [];
  if (images.length === 0) return undefined;
  const digests = b.status?.sourceImages ?? [];
  return images
    .map((image, i) => {
      const digest = digests[i]?.from === image.from ? ` (${digests[i]!.digest})` : '';
      const paths = image.paths.map((p) => `${p.sourcePath} -> ${p.destinationDir || '.'}`).join(', ');
      return `${image.from}${digest}: ${paths}`;
    })
    .join('; ');
}

/**
 * How the attempt before the current one ended (it was handed back or lost, and the build got a
 * new attempt), e.g. "1 on agent a (node n), 12s ago: AgentShutdown: the agent shut down…".
 */
function previousAttempt(p: BuildStatus__Output['previousAttempt'], now: Date): string | undefined {
  if (!p) return undefined;
  const where = p.agent ? ` on agent ${p.agent}${p.node ? ` (node ${p.node})` : ''}` : '';
  const when = p.completionTimestamp ? `, ${formatAge(p.completionTimestamp, now)} ago` : '';
  return `${p.attempt}${where}${when}: ${p.reason}${p.message && p.message !== p.reason ? `: ${p.message}` : ''}`;
}

/** Why the build was started: one line per cause, with the commit or image digest it names. */
function causeRows(b: Build__Output): string {
  const causes =
    b.spec!.triggeredBy.length > 0
      ? b.spec!.triggeredBy
      : [{ type: 'Manual', message: '', git: null, imageChange: null }];
  const rows = causes.map((c) => {
    const details = [
      c.git?.commit ? `commit ${c.git.commit}` : '',
      c.git?.ref ? `ref ${c.git.ref}` : '',
      c.imageChange ? `image ${c.imageChange.image}@${c.imageChange.digest}` : '',
    ].filter(Boolean);
    return [c.type, [c.message, details.length > 0 ? `(${details.join(', ')})` : ''].filter(Boolean).join(' ')];
  });
  const width = Math.max(...rows.map(([type]) => type!.length)) + 2;
  return rows.map(([type, text]) => `  ${type!.padEnd(width)}${text}`.trimEnd() + '\n').join('');
}

/** A titled block, kubectl describe style; "<none>" when it has nothing. */
function section(title: string, body: string | undefined): string {
  return body ? `${title}:\n${body}` : `${title}:  <none>\n`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}

/** A stage's duration: tenths of a second below a minute, then as formatDuration. */
export function formatStageDuration(ms: number): string {
  return ms < 60_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : formatDuration(ms);
}

/**
 * Where a build's time went, for `get builds`: its longest stage and that stage's duration,
 * e.g. "Build 12.3s"; "-" until its agent reported stages (they come with the outcome).
 */
export function longestStageCell(b: Build__Output): string {
  return stageCell(b.status!.stages);
}

function stageCell(stages: BuildStage__Output[]): string {
  const longest = longestStage(stages);
  return longest ? `${longest.name} ${formatStageDuration(Number(longest.durationMs))}` : '-';
}

/** From start to completion, or to now while it runs; "-" before it started. */
export function buildDuration(b: Build__Output, now = new Date()): string {
  const s = b.status!;
  if (!s.startTimestamp) return '-';
  const end = s.completionTimestamp ? new Date(s.completionTimestamp).getTime() : now.getTime();
  return formatDuration(end - new Date(s.startTimestamp).getTime());
}

/** "512 B", "3.4 KiB", "12.0 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}
