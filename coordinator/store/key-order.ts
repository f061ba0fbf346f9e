/**
 * The order listings page in: namespace, then name, with runs of digits compared as numbers, so
 * a config's builds come as `app-1, app-2, app-10` (the order `kubectl get` shows). A total
 * order on keys alone, so a page token can be the key to continue after.
 */
export function compareKeys(a: string, b: string): number {
  const dotA = a.indexOf('.');
  const dotB = b.indexOf('.');
  const [nsA, nameA] = dotA < 0 ? ['', a] : [a.slice(0, dotA), a.slice(dotA + 1)];
  const [nsB, nameB] = dotB < 0 ? ['', b] : [b.slice(0, dotB), b.slice(dotB + 1)];
  return compareNatural(nsA, nsB) || compareNatural(nameA, nameB);
}

const RUNS = /\d+|\D+/g;

/** Runs of digits by value, other runs by code unit; equal values (`01`, `1`) by plain order. */
function compareNatural(a: string, b: string): number {
  const ra = a.match(RUNS) ?? [];
  const rb = b.match(RUNS) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    if (x === y) continue;
    if (isDigit(x) && isDigit(y)) {
      const dx = x.replace(/^0+(?=.)/, '');
      const dy = y.replace(/^0+(?=.)/, '');
      if (dx.length !== dy.length) return dx.length - dy.length;
      if (dx !== dy) return dx < dy ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  if (ra.length !== rb.length) return ra.length - rb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function isDigit(run: string): boolean {
  const c = run.charCodeAt(0);
  return c >= 48 && c <= 57;
}
