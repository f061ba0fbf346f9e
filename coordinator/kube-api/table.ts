import { longestStage, type BuildConfigSpec, type BuildStatus } from '../../api/types.js';
import type { KubeObject } from './objects.js';
import { BUILDS, type ResourceInfo } from './resources.js';

/**
 * Server-side printing (`meta.k8s.io/v1 Table`), which `kubectl get` asks for in its Accept
 * header (`application/json;as=Table;v=v1;g=meta.k8s.io`). Durations are printed here, as the
 * apiserver prints ages, so every client shows the same.
 */

export type IncludeObject = 'None' | 'Metadata' | 'Object';

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
}

interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: Column[];
  rows: TableRow[];
}

const NAME: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name of the object.', priority: 0 };
const AGE: Column = { name: 'Age', type: 'string', description: 'Time since the object was created.', priority: 0 };

const COLUMNS: Record<ResourceInfo['plural'], Column[]> = {
  builds: [
    NAME,
    {
      name: 'Phase',
      type: 'string',
      description: 'New, Pending, Running, Complete, Failed, Error or Cancelled.',
      priority: 0,
    },
    { name: 'Config', type: 'string', description: 'The BuildConfig the build was started from.', priority: 0 },
    { name: 'Node', type: 'string', description: 'The node whose agent runs or ran the build.', priority: 0 },
    { name: 'Duration', type: 'string', description: 'From start to end, or to now while running.', priority: 0 },
    AGE,
    { name: 'Reason', type: 'string', description: 'Why the build is in its phase.', priority: 1 },
    { name: 'Image', type: 'string', description: 'The pushed image.', priority: 1 },
    {
      name: 'Longest Stage',
      type: 'string',
      description: 'The stage of the final attempt that took longest, and how long.',
      priority: 1,
    },
    {
      name: 'Previous Attempt',
      type: 'string',
      description: 'The attempt before the current one and why it was handed back or lost (status.previousAttempt).',
      priority: 1,
    },
  ],
  buildconfigs: [
    NAME,
    { name: 'Type', type: 'string', description: 'Docker or Source (Source-to-Image).', priority: 0 },
    { name: 'From', type: 'string', description: 'Where the source comes from.', priority: 0 },
    { name: 'Latest', type: 'integer', description: 'Number of the latest build.', priority: 0 },
    AGE,
    { name: 'Image', type: 'string', description: 'The image builds push.', priority: 1 },
  ],
};

export function toTable(
  resource: ResourceInfo,
  objects: KubeObject[],
  o: {
    resourceVersion?: string;
    /** A paged list's: where the next page starts, and how many keys follow at most. */
    continue?: string;
    remainingItemCount?: number;
    includeObject: IncludeObject;
    now: Date;
    headers?: boolean;
  },
): Table {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {
      ...(o.resourceVersion ? { resourceVersion: o.resourceVersion } : {}),
      ...(o.continue ? { continue: o.continue } : {}),
      ...(o.remainingItemCount !== undefined ? { remainingItemCount: o.remainingItemCount } : {}),
    },
    columnDefinitions: o.headers === false ? [] : COLUMNS[resource.plural],
    rows: objects.map((obj) => ({ cells: cells(resource, obj, o.now), ...objectOf(obj, o.includeObject) })),
  };
}

function objectOf(obj: KubeObject, include: IncludeObject): { object?: unknown } {
  if (include === 'None') return {};
  if (include === 'Object') return { object: obj };
  return { object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata } };
}

function cells(resource: ResourceInfo, obj: KubeObject, now: Date): unknown[] {
  const age = humanDuration(now.getTime() - Date.parse(obj.metadata.creationTimestamp));
  if (resource === BUILDS) {
    const s = obj.status as BuildStatus;
    const spec = obj.spec as { configName: string };
    const start = s.startTimestamp ? Date.parse(s.startTimestamp) : undefined;
    const end = s.completionTimestamp ? Date.parse(s.completionTimestamp) : now.getTime();
    const duration = start !== undefined ? humanDuration(end - start) : '<none>';
    const image = s.output ? `${s.output.image}@${s.output.digest}` : '<none>';
    const longest = longestStage(s.stages);
    return [
      obj.metadata.name,
      s.phase,
      spec.configName,
      s.node ?? '<none>',
      duration,
      age,
      s.reason ?? '<none>',
      image,
      longest ? `${longest.name} ${stageDuration(longest.durationMs)}` : '<none>',
      s.previousAttempt ? `${s.previousAttempt.attempt} ${s.previousAttempt.reason}` : '<none>',
    ];
  }
  const spec = obj.spec as BuildConfigSpec;
  const status = obj.status as { lastVersion: number };
  const type = spec.strategy.source ? 'Source' : spec.strategy.custom ? 'Custom' : 'Docker';
  const base = spec.source.git
    ? `Git${spec.source.git.ref ? `@${spec.source.git.ref}` : ''}`
    : spec.source.binary
      ? 'Binary'
      : spec.source.dockerfile !== undefined || !spec.source.images
        ? 'Dockerfile'
        : '';
  // Source images copied in: "Git@main+Image", or "Image" alone.
  const from = spec.source.images ? (base ? `${base}+Image` : 'Image') : base;
  return [obj.metadata.name, type, from, status.lastVersion, age, spec.output.image];
}

/** A duration as `kubectl` prints ages: 45s, 3m20s, 2d4h, 10y. Negative (clock skew) prints as 0s. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/** A stage's duration: tenths of a second below a minute (stages are often short), else as ages are. */
export function stageDuration(ms: number): string {
  return ms < 60_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : humanDuration(ms);
}

/** Whether an Accept header asks for a Table (`as=Table;g=meta.k8s.io`). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('as=Table') && !params.some((p) => p.startsWith('g=') && p !== 'g=meta.k8s.io');
  });
}
