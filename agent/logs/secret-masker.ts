/**
 * Replaces secret values in text before it leaves the agent. Besides each value as it is, the
 * forms tools tend to print are masked too: base64 of `user:password` (an auth header or a
 * docker config) and the value's URL encoding.
 */
export const MASK = '***';

export class SecretMasker {
  private readonly needles: string[];

  constructor(secrets: readonly { username?: string; password: string; sshPrivateKey?: string }[]) {
    const forms = new Set<string>();
    for (const s of secrets) {
      // A key is printed, if ever, line by line: mask each line of its body.
      for (const line of s.sshPrivateKey?.split('\n') ?? [])
        if (line.trim().length >= 16 && !line.startsWith('-----')) forms.add(line.trim());
      if (s.password.length < 3) continue; // masking "a" would mangle every line
      forms.add(s.password);
      forms.add(encodeURIComponent(s.password));
      forms.add(Buffer.from(s.password).toString('base64'));
      if (s.username) forms.add(Buffer.from(`${s.username}:${s.password}`).toString('base64'));
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
