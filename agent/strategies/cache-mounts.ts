import { escapeChar, instructions } from './dockerfile.js';
import { mountFields, mountOptions } from './secret-mounts.js';

/**
 * The Dockerfile with each `RUN --mount=type=cache` given an id of the build's namespace:
 * `id=<scope>/<its id, or its target>`. BuildKit keys a cache mount by its id alone (the target
 * when there is none), so on a daemon every build shares `/root/.cache` with every other; scoped,
 * builds of one namespace share their caches (the point of them) and never see another
 * namespace's. Only the `--mount` flags of RUN instructions change; every other byte stays.
 */
export function scopeCacheMounts(dockerfile: string, scope: string): string {
  const lines = dockerfile.split('\n');
  const escape = escapeChar(lines);
  for (const ins of instructions(lines, escape)) {
    if (ins.keyword !== 'RUN') continue;
    // Flags stand before the command, possibly over several lines; the first other word ends them.
    let inFlags = true;
    for (let i = ins.first; i <= ins.last && inFlags; i++) {
      const words = [...lines[i]!.matchAll(/\S+/g)].filter(
        (w) => !(i === ins.first && w.index === firstWord(lines[i]!)),
      );
      const edits: { at: number; length: number; text: string }[] = [];
      for (const w of words) {
        if (w[0] === escape && w.index + 1 === lines[i]!.trimEnd().length) continue;
        if (!w[0].startsWith('--')) {
          inFlags = false;
          break;
        }
        const scoped = scopeFlag(w[0], scope);
        if (scoped !== w[0]) edits.push({ at: w.index, length: w[0].length, text: scoped });
      }
      for (const e of edits.reverse()) lines[i] = lines[i]!.slice(0, e.at) + e.text + lines[i]!.slice(e.at + e.length);
    }
  }
  return lines.join('\n');
}

/** Where a line's first word (the instruction's keyword) starts. */
function firstWord(line: string): number {
  return line.search(/\S/);
}

/** A `--mount=type=cache,…` flag with the scoped id; any other flag as it is. */
function scopeFlag(flag: string, scope: string): string {
  const m = /^(--mount=)(.*)$/i.exec(flag);
  if (!m) return flag;
  const options = mountOptions(m[2]!);
  if (options.get('type')?.toLowerCase() !== 'cache') return flag;
  const own = options.get('id') || options.get('target') || options.get('dst') || options.get('destination');
  if (!own) return flag; // BuildKit refuses a cache mount with neither; let it say so
  const kept = mountFields(m[2]!).filter((f) => !/^\s*id\s*=/i.test(f));
  return `${m[1]}${[...kept, `id=${scope}/${own}`].join(',')}`;
}
