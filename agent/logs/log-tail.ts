import { MAX_LOG_SNIPPET_BYTES } from '../../api/types.js';

/** Lines a failed build's log snippet holds at most (BuildStatus.logSnippet). */
export const LOG_SNIPPET_LINES = 20;

/**
 * The last lines of a log, for a failed build's snippet. It is fed the lines exactly as they
 * were stored (already masked by the log's SecretMasker), so it holds nothing the log does not.
 */
export class LogTail {
  /** The last lines, in a ring: a chatty log costs a store per line, not an array shift. */
  private readonly ring: string[] = [];
  private pushed = 0;

  constructor(
    private readonly maxLines = LOG_SNIPPET_LINES,
    private readonly maxBytes = MAX_LOG_SNIPPET_BYTES,
  ) {}

  push(line: string): void {
    this.ring[this.pushed++ % this.maxLines] = line;
  }

  /**
   * The kept lines joined by newlines, at most `maxBytes` of UTF-8: when they are more, the
   * oldest lines go first, and a single line longer than that keeps its end.
   */
  text(): string {
    const kept: string[] = [];
    let bytes = 0;
    for (let n = this.pushed - 1; n >= Math.max(0, this.pushed - this.maxLines); n--) {
      const line = this.ring[n % this.maxLines]!;
      const size = Buffer.byteLength(line) + (kept.length > 0 ? 1 : 0);
      if (bytes + size <= this.maxBytes) {
        kept.unshift(line);
        bytes += size;
        continue;
      }
      if (kept.length === 0) kept.push(utf8Tail(line, this.maxBytes));
      break;
    }
    return kept.join('\n');
  }
}

/** The end of `text` that fits in `maxBytes` of UTF-8, cut between characters. */
function utf8Tail(text: string, maxBytes: number): string {
  const chars = [...text];
  let bytes = 0;
  let i = chars.length;
  while (i > 0 && bytes + Buffer.byteLength(chars[i - 1]!) <= maxBytes) bytes += Buffer.byteLength(chars[--i]!);
  return chars.slice(i).join('');
}
