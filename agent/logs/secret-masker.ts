/**
 * Replaces secret values in text before it leaves the agent. Besides each value as it is, the
 * forms tools tend to print are masked too: base64 of `user:password` (an auth header or a
 * docker config) and the value's URL encoding. A value of several lines (a build secret that is
 * a file) reaches the log line by line, so each of its lines is masked as well.
 */
export const MASK = '***';

/**
 * Values (and lines of values) shorter than this are not masked: masking "a" would mangle every
 * line. The coordinator refuses opaque secrets shorter than this, so every build secret is masked.
 */
export const MIN_MASKED_LENGTH = 3;

export class SecretMasker {
  private readonly needles: string[];

  constructor(secrets: readonly { username?: string; password: string; sshPrivateKey?: string }[]) {
    const forms = new Set<string>();
    const add = (value: string) => {
      if (value.length >= MIN_MASKED_LENGTH) forms.add(value);
    };
    for (const s of secrets) {
      // A key is printed, if ever, line by line: mask each line of its body.
      for (const line of s.sshPrivateKey?.split('\n') ?? [])
        if (line.trim().length >= 16 && !line.startsWith('-----')) forms.add(line.trim());
      if (s.password.length < MIN_MASKED_LENGTH) continue;
      add(s.password);
      forms.add(encodeURIComponent(s.password));
      forms.add(Buffer.from(s.password).toString('base64'));
      if (s.username) forms.add(Buffer.from(`${s.username}:${s.password}`).toString('base64'));
      if (/[\r\n]/.test(s.password)) {
        add(s.password.trim());
        for (const line of s.password.split(/\r?\n/)) add(line.trim());
      }
    }
    // Longest first, so a value containing another is masked whole.
    this.needles = [...forms].sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let out = text;
    for (const n of this.needles) if (out.includes(n)) out = out.split(n).join(MASK);
    return out;
  }
}
