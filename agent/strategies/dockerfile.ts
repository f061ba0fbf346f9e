/**
 * The few Dockerfile edits the Dockerfile strategy makes: replacing the image of the stage
 * being built (`strategy.docker.from`) and adding `ENV` to it (`strategy.docker.env`), as
 * OpenShift's Docker strategy does. Everything else in the file is left byte for byte.
 */

export interface DockerfileEdits {
  /** New image for the built stage's FROM. */
  from?: string;
  /** Variables set with ENV right after the built stage's FROM. */
  env?: { name: string; value: string }[];
  /** The stage being built (its `AS` name); undefined: the last stage. */
  target?: string;
}

/** One instruction of a Dockerfile, its continuation lines included. */
export interface Instruction {
  /** Index of the first and last physical line of the instruction. */
  first: number;
  last: number;
  keyword: string;
}

/** Thrown when the edits cannot be applied: no FROM, or no stage of the target's name. */
export class DockerfileEditError extends Error {
  override name = 'DockerfileEditError';
}

export function editDockerfile(text: string, edits: DockerfileEdits): string {
  if (!edits.from && !edits.env?.length) return text;
  const lines = text.split('\n');
  const escape = escapeChar(lines);
  const froms = instructions(lines, escape).filter((i) => i.keyword === 'FROM');
  if (froms.length === 0) throw new DockerfileEditError('the Dockerfile has no FROM instruction');
  let stage = froms.at(-1)!;
  if (edits.target) {
    const named = froms.find((f) => stageName(lines, f)?.toLowerCase() === edits.target!.toLowerCase());
    if (!named) throw new DockerfileEditError(`the Dockerfile has no stage named "${edits.target}"`);
    stage = named;
  }
  if (edits.from) {
    if (stage.first !== stage.last)
      throw new DockerfileEditError('cannot replace the image of a FROM that spans several lines');
    lines[stage.first] = replaceFromImage(lines[stage.first]!, edits.from);
  }
  if (edits.env?.length) {
    const env = edits.env.map((e) => `ENV ${e.name}=${JSON.stringify(e.value)}`);
    lines.splice(stage.last + 1, 0, ...env);
  }
  return lines.join('\n');
}

/**
 * The images the Dockerfile's stages start FROM: not earlier stages (named with AS), not
 * `scratch`, and not references made of build arguments (`FROM $BASE`), which only the daemon
 * can resolve. The node's image GC keeps these while the build runs.
 */
export function baseImages(text: string): string[] {
  return [
    ...new Set(
      fromImages(text)
        .filter((f) => !f.arg)
        .map((f) => f.image),
    ),
  ];
}

/**
 * The base images the agent pulls itself before the build: baseImages less those of a FROM
 * with `--platform`, whose variant the daemon picks (a plain pull would fetch the node's own).
 */
export function pullableBaseImages(text: string): string[] {
  return [
    ...new Set(
      fromImages(text)
        .filter((f) => !f.arg && !f.platform)
        .map((f) => f.image),
    ),
  ];
}

/** Whether the daemon has base images to pull itself: a FROM of build arguments (`FROM $BASE`) or with `--platform`. */
export function hasDaemonPulledBase(text: string): boolean {
  return fromImages(text).some((f) => f.arg || f.platform);
}

/** Each FROM that names an image (not an earlier stage, not scratch), in order. */
function fromImages(text: string): { image: string; arg: boolean; platform: boolean }[] {
  const lines = text.split('\n');
  const stages = new Set<string>();
  const out: { image: string; arg: boolean; platform: boolean }[] = [];
  for (const from of instructions(lines, escapeChar(lines)).filter((i) => i.keyword === 'FROM')) {
    const m = /^\s*FROM\s+((?:--\S+\s+)*)(\S+)/i.exec(lines[from.first]!);
    const image = m?.[2];
    if (image && !stages.has(image.toLowerCase()) && image !== 'scratch') {
      out.push({ image, arg: image.includes('$'), platform: /--platform=/i.test(m![1]!) });
    }
    const name = stageName(lines, from);
    if (name) stages.add(name.toLowerCase());
  }
  return out;
}

/** The escape character the `# escape=` parser directive sets; a backslash otherwise. */
export function escapeChar(lines: string[]): string {
  for (const line of lines) {
    const m = /^#\s*escape\s*=\s*(\S)\s*$/i.exec(line);
    if (m) return m[1]!;
    if (!/^#\s*\w+\s*=/.test(line)) break; // directives only stand at the very top
  }
  return '\\';
}

/** The file's instructions, in order; comments and blank lines are skipped. */
export function instructions(lines: string[], escape: string): Instruction[] {
  const out: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const first = i;
    while (lines[i]!.trimEnd().endsWith(escape) && i + 1 < lines.length) i++;
    out.push({ first, last: i, keyword: line.trim().split(/\s+/)[0]!.toUpperCase() });
  }
  return out;
}

function stageName(lines: string[], from: Instruction): string | undefined {
  const words = lines[from.first]!.trim().split(/\s+/);
  const as = words.findIndex((w) => w.toUpperCase() === 'AS');
  return as > 0 ? words[as + 1] : undefined;
}

/** `FROM [--flag=...] image [AS name]` with the image replaced. */
function replaceFromImage(line: string, image: string): string {
  const m = /^(\s*FROM\s+(?:--\S+\s+)*)(\S+)(.*)$/i.exec(line);
  if (!m) throw new DockerfileEditError(`cannot read the FROM line "${line}"`);
  return `${m[1]}${image}${m[3]}`;
}
