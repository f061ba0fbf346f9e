import path from 'node:path';
import protobuf from 'protobufjs';
import { protoRoot } from '../../common/grpc/proto.js';

/** A point in time as BuildKit sends it. */
interface Timestamp {
  seconds: number;
  nanos: number;
}

/** One step of the build graph, as BuildKit reports it (again each time it changes). */
export interface Vertex {
  digest: string;
  name: string;
  cached: boolean;
  started?: Timestamp;
  completed?: Timestamp;
  error: string;
}

/** BuildKit's progress report, decoded: the steps that changed, their work and output. */
export interface StatusResponse {
  vertexes: Vertex[];
  statuses: {
    ID: string;
    vertex: string;
    name: string;
    current: number;
    total: number;
    completed?: Timestamp;
  }[];
  logs: { vertex: string; timestamp?: Timestamp; stream: number; msg: Uint8Array }[];
  warnings: { vertex: string; short: Uint8Array }[];
}

let statusType: protobuf.Type | undefined;

/** Decodes the `aux` of a `moby.buildkit.trace` message (base64 of a StatusResponse). */
export function decodeStatus(base64: string): StatusResponse {
  statusType ??= protobuf
    .loadSync(path.join(protoRoot(), 'moby', 'buildkit-status.proto'))
    .lookupType('moby.buildkit.v1.StatusResponse');
  const message = statusType.decode(Buffer.from(base64, 'base64'));
  return statusType.toObject(message, { longs: Number, defaults: true }) as StatusResponse;
}

/** What the renderer knows of a step. */
interface Step {
  /** Its number, given when its header goes out (0 until then). */
  number: number;
  name: string;
  started?: Timestamp;
  /** Whether its `#N name` header is out. */
  announced: boolean;
  ended: boolean;
  /** Output not yet ended by a newline, per stream. */
  partial: Map<number, string>;
  /** Statuses already reported done. */
  reportedStatuses: Set<string>;
}

/** The step a build failed in, and BuildKit's words for why. */
export interface FailedStep {
  /** The step as BuildKit names it: "[stage-1 2/3] RUN make". */
  name: string;
  error: string;
}

/**
 * Turns BuildKit's progress reports into the lines `docker build --progress=plain` prints:
 * `#N name` when step N starts, `#N 0.512 output` for each line it writes (seconds since it
 * started), `#N DONE 0.3s`, `#N CACHED` or `#N ERROR: …` when it ends. Steps are numbered in the
 * order their headers go out (BuildKit reports steps before they start, and not in the order
 * they start), so the numbers in the log only ever grow; a line is emitted once, whole, even when BuildKit reports a step
 * again or splits its output anywhere.
 */
export class PlainProgress {
  private readonly steps = new Map<string, Step>();
  /** Headers out so far: the last number given. */
  private announced = 0;
  /** The first step that ended with an error. */
  failed: FailedStep | undefined;

  /** The lines one progress report adds. */
  render(status: StatusResponse): string[] {
    const out: string[] = [];
    // In the order plain progress reads: steps that start, their work and output, then the steps
    // that ended (a report often carries a step's last statuses and its completion together).
    for (const v of status.vertexes) {
      const step = this.step(v.digest, v.name);
      if (v.started && !step.started) step.started = v.started;
      if (!step.ended && v.started && !v.completed) this.announce(step, out);
    }
    for (const s of status.statuses) {
      const step = this.steps.get(s.vertex);
      if (!step || !s.completed || step.reportedStatuses.has(s.ID)) continue;
      step.reportedStatuses.add(s.ID);
      this.announce(step, out);
      const size = s.total > 0 ? ` ${bytes(s.total)}` : '';
      out.push(`#${step.number} ${s.name || s.ID}${size} done`);
    }
    for (const log of status.logs) {
      const step = this.steps.get(log.vertex) ?? this.step(log.vertex, '');
      this.announce(step, out);
      const text = (step.partial.get(log.stream) ?? '') + Buffer.from(log.msg).toString('utf8');
      const lines = text.split('\n');
      step.partial.set(log.stream, lines.pop()!);
      const prefix = `#${step.number} ${seconds(step.started, log.timestamp)} `;
      for (const line of lines) out.push(prefix + (line.endsWith('\r') ? line.slice(0, -1) : line));
    }
    for (const v of status.vertexes) {
      const step = this.steps.get(v.digest)!;
      if (step.ended || !v.completed) continue;
      this.announce(step, out);
      this.flush(step, out);
      if (v.cached) out.push(`#${step.number} CACHED`);
      else if (v.error) {
        out.push(`#${step.number} ERROR: ${v.error}`);
        this.failed ??= { name: step.name, error: v.error };
      } else out.push(`#${step.number} DONE ${seconds(v.started, v.completed, 1)}s`);
      step.ended = true;
    }
    for (const w of status.warnings) {
      const step = this.steps.get(w.vertex);
      out.push(`${step?.announced ? `#${step.number} ` : ''}WARNING: ${Buffer.from(w.short).toString('utf8')}`);
    }
    return out;
  }

  /** Output still held for want of a newline (the stream ended): the last lines. */
  end(): string[] {
    const out: string[] = [];
    for (const step of this.steps.values()) this.flush(step, out);
    return out;
  }

  private step(digest: string, name: string): Step {
    let step = this.steps.get(digest);
    if (!step) {
      step = {
        number: 0,
        name,
        announced: false,
        ended: false,
        partial: new Map(),
        reportedStatuses: new Set(),
      };
      this.steps.set(digest, step);
    }
    if (name && !step.name) step.name = name;
    return step;
  }

  private announce(step: Step, out: string[]): void {
    if (step.announced) return;
    step.announced = true;
    step.number = ++this.announced;
    out.push(`#${step.number} ${step.name}`);
  }

  private flush(step: Step, out: string[]): void {
    for (const [stream, text] of step.partial) {
      if (text) out.push(`#${step.number} ${seconds(step.started, undefined)} ${text}`);
      step.partial.set(stream, '');
    }
  }
}

function toMs(t: Timestamp): number {
  return t.seconds * 1000 + t.nanos / 1e6;
}

/** Seconds from `from` to `to` (now when undefined), to `digits` places: 1 for a DONE ("0.3"), 3 for a line ("0.512"). */
function seconds(from: Timestamp | undefined, to: Timestamp | undefined, digits = 3): string {
  if (!from) return (0).toFixed(digits);
  return (Math.max(0, (to ? toMs(to) : Date.now()) - toMs(from)) / 1000).toFixed(digits);
}

function bytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(2)}kB`;
  return `${(n / 1024 / 1024).toFixed(2)}MB`;
}
