import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { InvalidInputError, type FieldError } from '../errors.js';
import type { ConfigOf, Setting, Settings } from './setting.js';

/**
 * What a process's declarations give: its defaults, its config from the environment, and a
 * config resolved and checked once. One rule for every setting: an unset variable takes the
 * default; an empty one, or one whose text is not of its kind, is refused naming the variable.
 */

const ajv = new Ajv({ allErrors: false, strict: true });
const validators = new WeakMap<Setting<unknown>, ValidateFunction>();

/** The name errors give a setting: its environment variable, or its field when it has none. */
export function settingName(settings: Settings, field: string): string {
  return settings[field]?.env ?? field;
}

/** Each setting's name (its environment variable), by field. */
export function envNames<S extends Settings>(settings: S): { readonly [K in keyof S]: string } {
  return Object.fromEntries(Object.keys(settings).map((k) => [k, settingName(settings, k)])) as {
    [K in keyof S]: string;
  };
}

/** Every default, computed now (host names, process ids); lists and maps are fresh copies. */
export function defaultsOf<S extends Settings>(settings: S): ConfigOf<S> {
  return Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, defaultValue(s)])) as ConfigOf<S>;
}

function defaultValue<T>(s: Setting<T>): T {
  const d = typeof s.default === 'function' ? (s.default as () => T)() : s.default;
  if (Array.isArray(d)) return [...d] as T;
  return d !== null && typeof d === 'object' && !Buffer.isBuffer(d) ? ({ ...d } as T) : d;
}

/** The default as docs and messages show it. */
export function describeDefault(s: Setting<unknown>): string {
  if (s.defaultText !== undefined) return s.defaultText;
  const d = defaultValue(s);
  if (
    d === undefined ||
    d === '' ||
    (Array.isArray(d) && d.length === 0) ||
    (typeof d === 'object' && d !== null && Object.keys(d).length === 0)
  )
    return 'none';
  return Array.isArray(d) ? d.join(',') : String(d);
}

/**
 * The settings the environment gives; unset variables give nothing, so defaults stay.
 * @throws InvalidInputError naming each variable that is empty or whose text is not of its kind.
 */
export function settingsFromEnv<S extends Settings>(
  settings: S,
  env: NodeJS.ProcessEnv,
  what: string,
): Partial<ConfigOf<S>> {
  const out: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [field, s] of Object.entries(settings)) {
    const text = s.env === undefined ? undefined : env[s.env];
    if (text === undefined) continue;
    if (text.trim() === '') {
      errors.push({ field: s.env!, message: `is empty: unset it for the default (${describeDefault(s)})` });
      continue;
    }
    const parsed = s.kind.parse(text);
    if ('problem' in parsed) errors.push({ field: s.env!, message: s.secret ? 'is not valid' : parsed.problem });
    else out[field] = parsed.value;
  }
  if (errors.length > 0) throw new InvalidInputError(errors, what);
  return out as Partial<ConfigOf<S>>;
}

/**
 * Defaults, then `overrides` (undefined ones left out), each setting checked against its kind
 * and its own check in declaration order, then `crossChecks` (settings that must be set together,
 * files that must be there). Returns the config.
 * @throws InvalidInputError naming every setting at fault.
 */
export function resolveSettings<S extends Settings>(
  settings: S,
  overrides: Partial<ConfigOf<S>>,
  what: string,
  crossChecks: (c: ConfigOf<S>) => FieldError[] = () => [],
): ConfigOf<S> {
  const c = defaultsOf(settings);
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (c as Record<string, unknown>)[k] = v;
  const errors: FieldError[] = [];
  for (const [field, s] of Object.entries(settings)) {
    const problem = valueProblem(s, (c as Record<string, unknown>)[field]);
    if (problem) errors.push({ field: settingName(settings, field), message: problem });
  }
  // Cross-field checks read well-typed values only.
  if (errors.length === 0) errors.push(...crossChecks(c));
  if (errors.length > 0) throw new InvalidInputError(errors, what);
  return c;
}

/** What is wrong with one setting's value (its kind's JSON Schema, then its own check), or undefined. */
function valueProblem(s: Setting<unknown>, value: unknown): string | undefined {
  if (value === undefined && s.default === undefined) return undefined;
  let validate = validators.get(s);
  if (!validate) validators.set(s, (validate = ajv.compile(s.kind.schema)));
  if (!validate(value)) return schemaMessage(s, validate.errors![0]!, value);
  return s.check?.(value);
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number',
  boolean: 'true or false',
  string: 'text',
  array: 'a list',
  number: 'a number',
};

function schemaMessage(s: Setting<unknown>, e: ErrorObject, value: unknown): string {
  const got = s.secret ? '' : `, got ${typeof value === 'string' ? `"${value}"` : JSON.stringify(value)}`;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return `must be ${TYPE_WORDS[String(p.type)] ?? p.type}${got}`;
    case 'minimum':
      return `must be at least ${p.limit}${got}`;
    case 'maximum':
      return `must be at most ${p.limit}${got}`;
    case 'minItems':
      return `must name at least ${p.limit}`;
    case 'enum': {
      const choices = (p.allowedValues as string[]).join(', ');
      return s.kind.noun
        ? `"${String(value)}" is not a known ${s.kind.noun} (${choices})`
        : `"${String(value)}" is not one of ${choices}`;
    }
    default:
      return `${e.instancePath} ${e.message ?? 'is not valid'}`.trim();
  }
}
