/**
 * The order listings page in: namespace, then name, with runs of digits compared as numbers, so
 * a config's builds come as `app-1, app-2, app-10` (the order `kubectl get` shows). An order on
 * keys alone, so a page token can be the key to continue after.
 */

/**
 * A string whose plain order (`<`) is the key's listing order, the key itself at its end (after
 * a NUL): sorting a listing's sort keys costs no allocation per comparison, and the key is
 * taken back with keyOf. Keys (NATS KV: letters, digits, `-/_=.`) hold no control characters.
 */
export function sortKey(key: string): string {
  const dot = key.indexOf('.');
  const namespace = dot < 0 ? '' : key.slice(0, dot);
  return `${numbered(namespace)}\u0001${numbered(key.slice(dot + 1))}\u0000${key}`;
}

/** The key a sortKey was made of. */
export function keyOf(sortKey: string): string {
  return sortKey.slice(sortKey.lastIndexOf('\u0000') + 1);
}

/** Listing order of two keys, for a few comparisons (sort many by sortKey). */
export function compareKeys(a: string, b: string): number {
  const x = sortKey(a);
  const y = sortKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Each run of digits as `0`, a character counting its digits (leading zeros dropped), then the
 * digits: a longer number sorts after a shorter one, equal lengths by digit. `0` stands where a
 * digit stood, so against the other characters a number sorts as before.
 */
function numbered(text: string): string {
  return text.replace(/\d+/g, (digits) => {
    const value = digits.replace(/^0+(?=.)/, '');
    return `0${String.fromCharCode(0x100 + value.length)}${value}`;
  });
}
