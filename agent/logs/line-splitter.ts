import { StringDecoder } from 'node:string_decoder';

/**
 * Output chunks to whole lines. A process's output (and the daemon's build stream) arrives in
 * chunks that end anywhere: in the middle of a line, or of a UTF-8 character. A line is handed
 * on once its newline has come; `end` hands on a last line that had none. Carriage returns
 * before a newline are dropped.
 */
export class LineSplitter {
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: string | Buffer): void {
    this.partial += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const lines = this.partial.split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  /**
   * Hands on lines that each end where the text had a newline, as `write` of each with its
   * newline would, but without joining and splitting them again (the usual case: no partial line
   * waiting, no newline inside).
   */
  writeLines(lines: readonly string[]): void {
    for (const line of lines) {
      if (this.partial === '' && !line.includes('\n')) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      else this.write(`${line}\n`);
    }
  }

  /** Hands on what is left: a last line without a newline. */
  end(): void {
    this.partial += this.decoder.end();
    if (this.partial !== '') this.onLine(this.partial);
    this.partial = '';
  }
}
