import { KubeHttpError } from './status.js';

/**
 * Label and field selectors as `kubectl -l` / `--field-selector` send them: equality (`a=b`,
 * `a==b`, `a!=b`), existence (`a`, `!a`) and sets (`a in (x,y)`, `a notin (x)`), comma-joined.
 */
export type Selector = (fields: Record<string, string | undefined>) => boolean;

export function parseSelector(text: string | null, what: 'labelSelector' | 'fieldSelector'): Selector {
  if (!text) return () => true;
  const requirements: Selector[] = [];
  for (const raw of splitTopLevel(text)) {
    const r = raw.trim();
    if (!r) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(r))) {
      const [, key, op, list] = m;
      const values = new Set(list!.split(',').map((v) => v.trim()));
      requirements.push(
        op === 'in'
          ? (f) => f[key!] !== undefined && values.has(f[key!]!)
          : (f) => f[key!] === undefined || !values.has(f[key!]!),
      );
    } else if ((m = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s,]*)$/.exec(r))) {
      const [, key, op, value] = m;
      requirements.push(op === '!=' ? (f) => f[key!] !== value : (f) => f[key!] === value);
    } else if ((m = /^!([^\s!=]+)$/.exec(r))) {
      const key = m[1]!;
      requirements.push((f) => f[key] === undefined);
    } else if (what === 'labelSelector' && (m = /^([^\s!=(),]+)$/.exec(r))) {
      const key = m[1]!;
      requirements.push((f) => f[key] !== undefined);
    } else {
      throw new KubeHttpError(400, 'BadRequest', `unable to parse requirement: "${r}" in ${what}`);
    }
  }
  return (fields) => requirements.every((req) => req(fields));
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of text) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}
