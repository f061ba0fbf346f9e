import { fileProblem } from './checks.js';

/**
 * A setting, declared once: its environment variable, kind, default, check and one-line doc.
 * From a process's declarations come its typed config (`ConfigOf`), env parsing and validation
 * (settings.ts), and docs/settings.md (reference.ts). Kinds say how a variable's text becomes a
 * value, one way each: comma lists, whole numbers, booleans, choices.
 */

/** How a variable's text becomes a value, and the JSON Schema (for ajv) a value must meet. */
export interface Kind<T> {
  /** The type as docs/settings.md shows it. */
  readonly name: string;
  /** The value of a variable's (non-empty) text, or why it has none. */
  parse(text: string): { value: T } | { problem: string };
  /** JSON Schema of a value (overrides in code are checked against it too). */
  readonly schema: Record<string, unknown>;
  /** For choices: what a value names, for the refusal (`"x" is not a known executor (host, dind)`). */
  readonly noun?: string;
}

export interface Setting<T> {
  /** The environment variable; none for a setting only code gives (tests, internal tuning). */
  readonly env?: string;
  readonly kind: Kind<T>;
  /** A function for a default computed at start (the host name). */
  readonly default: T | (() => T);
  /** How docs/settings.md shows the default, when the value itself does not say it well. */
  readonly defaultText?: string;
  /** One line for docs/settings.md. */
  readonly doc: string;
  /** What is wrong with a value the kind's schema accepted, or undefined. */
  readonly check?: (value: T) => string | undefined;
  /** The chart value that sets it, or how the chart sets it; none: the chart leaves it unset. */
  readonly chart?: string;
  /** A credential: never repeated in an error. */
  readonly secret?: boolean;
}

/** A process's declarations, by config field. */
// any: a Setting<T> is invariant in T (its default is read, its check is called with T), so no
// other type takes every kind of setting.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Settings = Record<string, Setting<any>>;

/** The typed config that declarations describe: one field per setting, of its kind's type. */
export type ConfigOf<S extends Settings> = { -readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

type Options<T> = Omit<Setting<T>, 'kind'>;

const kind = <T>(name: string, schema: Record<string, unknown>, parse: Kind<T>['parse']): Kind<T> => ({
  name,
  schema,
  parse,
});

/** Text, taken as given. `''` (as a default or in code) means "none" where the doc says so. */
export function text(o: Options<string>): Setting<string> {
  return { ...o, kind: kind('text', { type: 'string' }, (t) => ({ value: t })) };
}

/** A file that must be there when given; `''` means none. */
export function file(o: Options<string>): Setting<string> {
  return { check: fileProblem, ...o, kind: kind('file', { type: 'string' }, (t) => ({ value: t })) };
}

/** A whole number, optionally bounded. The text is decimal digits, nothing else. */
export function integer(o: Options<number> & { min?: number; max?: number }): Setting<number> {
  const { min, max, ...rest } = o;
  const schema = {
    type: 'integer',
    ...(min === undefined ? {} : { minimum: min }),
    ...(max === undefined ? {} : { maximum: max }),
  };
  return {
    ...rest,
    kind: kind<number>('integer', schema, (t) =>
      /^\s*[+-]?\d+\s*$/.test(t) ? { value: Number(t) } : { problem: `must be a whole number, got "${t}"` },
    ),
  };
}

/** true or false; the text is `true`/`false` or `1`/`0`, in any case. */
export function boolean(o: Options<boolean>): Setting<boolean> {
  return {
    ...o,
    kind: kind<boolean>('boolean', { type: 'boolean' }, (t) => {
      const v = t.trim().toLowerCase();
      if (v === 'true' || v === '1') return { value: true };
      if (v === 'false' || v === '0') return { value: false };
      return { problem: `must be true or false, got "${t}"` };
    }),
  };
}

/** A list; the text is comma-separated, each item trimmed, empty items dropped. */
export function list(o: Options<string[]> & { minItems?: number }): Setting<string[]> {
  const { minItems, ...rest } = o;
  const schema = { type: 'array', items: { type: 'string' }, ...(minItems === undefined ? {} : { minItems }) };
  return {
    ...rest,
    kind: kind('comma list', schema, (t) => ({
      value: t
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    })),
  };
}

/** One of a few words, as given. `noun` words the refusal: `"x" is not a known <noun> (a, b)`. */
export function choice<const C extends string>(choices: readonly C[], o: Options<C> & { noun?: string }): Setting<C> {
  const { noun, ...rest } = o;
  return { ...rest, kind: { ...kind(choices.join(' | '), { enum: [...choices] }, (t) => ({ value: t as C })), noun } };
}

/** A value of a kind of its own (labels, a key): `parse` says how its text becomes one. */
export function custom<T>(
  name: string,
  schema: Record<string, unknown>,
  parse: Kind<T>['parse'],
  o: Options<T>,
): Setting<T> {
  return { ...o, kind: kind(name, schema, parse) };
}
