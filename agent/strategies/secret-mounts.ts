import { posix } from 'node:path';
import { escapeChar, instructions } from './dockerfile.js';

/**
 * The build secrets a Dockerfile mounts: each `RUN --mount=type=secret,...` and the id it
 * reads, as BuildKit's Dockerfile frontend resolves it (`id=`, or the basename of `target=` /
 * `dst=` / `destination=` when there is no id). Read before the build, so that a Dockerfile that
 * mounts an id the config does not declare fails with a reason instead of BuildKit mounting
 * nothing (a mount that is not `required` reads an empty folder).
 */
export interface SecretMount {
  /** The secret's id. */
  id: string;
  /** 1-based number of the RUN instruction's first line. */
  line: number;
  /** That line as written (trimmed, at most 200 characters). */
  text: string;
}

/**
 * Every secret mount of the Dockerfile's RUN instructions, in order. A mount with neither id
 * nor target (BuildKit refuses it itself) and one whose id is built from a variable (`$ID`,
 * which only the build knows) are left out.
 */
export function secretMounts(dockerfile: string): SecretMount[] {
  const lines = dockerfile.split('\n');
  const escape = escapeChar(lines);
  const out: SecretMount[] = [];
  for (const ins of instructions(lines, escape)) {
    if (ins.keyword !== 'RUN') continue;
    const joined = lines
      .slice(ins.first, ins.last + 1)
      .map((l, i, all) => (i < all.length - 1 ? l.trimEnd().slice(0, -escape.length) : l))
      .join(' ');
    const words = joined.trim().split(/\s+/).slice(1);
    // Flags stand before the command; the first word that is not one starts the command.
    for (const word of words) {
      if (!word.startsWith('--')) break;
      const m = /^--mount=(.*)$/i.exec(word);
      if (!m) continue;
      const id = secretId(mountOptions(m[1]!));
      if (id !== undefined && !id.includes('$'))
        out.push({ id, line: ins.first + 1, text: lines[ins.first]!.trim().slice(0, 200) });
    }
  }
  return out;
}

/** The mounts of secrets `declared` does not hold, in order. */
export function unknownSecretMounts(dockerfile: string, declared: ReadonlySet<string>): SecretMount[] {
  return secretMounts(dockerfile).filter((m) => !declared.has(m.id));
}

/** The id a `--mount` reads when it is a secret mount; undefined otherwise, or when it names none. */
function secretId(options: Map<string, string>): string | undefined {
  if ((options.get('type') ?? 'bind').toLowerCase() !== 'secret') return undefined;
  const id = options.get('id');
  if (id) return id;
  const target = options.get('target') ?? options.get('dst') ?? options.get('destination');
  return target ? posix.basename(target) : undefined;
}

/**
 * A `--mount` value's options: comma-separated `key=value` (or a bare `key`, like `required`),
 * keys lower-cased, a value in double quotes taken whole (commas included).
 */
export function mountOptions(value: string): Map<string, string> {
  const options = new Map<string, string>();
  for (const f of mountFields(value).map((raw) => raw.replaceAll('"', ''))) {
    const eq = f.indexOf('=');
    const key = (eq < 0 ? f : f.slice(0, eq)).trim().toLowerCase();
    if (key) options.set(key, eq < 0 ? '' : f.slice(eq + 1).trim());
  }
  return options;
}

/** A `--mount` value's comma-separated fields as written, quotes kept (a double-quoted part keeps its commas). */
export function mountFields(value: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (const c of value) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}
