import { createHash } from 'node:crypto';
import { link, lstat, mkdir, open, realpath, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import {
  BuildFailure,
  ContextRatioTooHighError,
  ContextTooManyEntriesError,
  InvalidContextError,
} from '../build-failures.js';

/** What an uploaded context may unpack to. */
export interface ContextLimits {
  /** Most bytes the extracted files may add up to. */
  maxBytes: number;
  /** Most entries (files, folders, links) the archive may hold. */
  maxEntries: number;
  /**
   * Most bytes of tar a compressed upload may unpack to per byte uploaded, once it has unpacked
   * to more than {@link RATIO_FREE_BYTES}.
   */
  maxRatio: number;
}

export interface ExtractOptions extends ContextLimits {
  /** Where the context goes; nothing is written outside it. */
  dir: string;
  /** The archive's SHA-256 (hex) as uploaded; a mismatch is refused. */
  sha256?: string;
  /** What the archive is, as errors name it; default "the uploaded context". */
  what?: string;
}

/** What any upload may unpack to before its compression ratio is judged. */
export const RATIO_FREE_BYTES = 16 * 1024 ** 2;

/** Most links followed while judging where one link leads (the kernel's own limit, MAXSYMLINKS). */
const MAX_LINK_HOPS = 40;

/**
 * Extracts a build context (tar, or tar.gz: told by its first bytes) into `dir`, refusing the
 * whole archive on the first entry that is absolute, climbs with "..", is a device or FIFO,
 * takes the total over `maxBytes`, or the entry count over `maxEntries`, or unpacks past
 * `maxRatio` times its compressed size.
 *
 * No entry can be written through a link: symbolic links are made last, after every file and
 * folder, and until then every folder on an entry's path is walked component by component
 * with `lstat` and must be a real folder. A symbolic link is refused when it leads outside
 * `dir` when followed through the other links of the archive, however they chain.
 * @throws InvalidContextError naming the entry and why (ContextTooManyEntriesError and
 *   ContextRatioTooHighError for the two limits).
 */
export async function extractContext(
  archive: AsyncIterable<Uint8Array>,
  o: ExtractOptions,
): Promise<{ files: number; bytes: number }> {
  await mkdir(o.dir, { recursive: true });
  const root = await realpath(o.dir);
  const what = o.what ?? 'the uploaded context';
  const hash = createHash('sha256');
  let uploaded = 0;
  let unpacked = 0;
  let total = 0;
  let files = 0;
  let entries = 0;
  /** Symbolic links of the archive by their path in it ("a/b"), made once everything else is. */
  const links = new Map<string, { header: Header; parts: string[]; to: string }>();
  /** The same links' targets, as leadsOutside reads them. */
  const targets = new Map<string, string>();

  const raw = Readable.from(
    (async function* () {
      for await (const chunk of archive) {
        hash.update(chunk);
        uploaded += chunk.byteLength;
        yield chunk;
      }
    })(),
  );
  const head = await peek(raw, 2);
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  // Counts what gunzip makes of the upload; judged against what was uploaded so far, which
  // is at least what produced it, so the ratio is never overstated.
  const ratioGuard = new Transform({
    transform(chunk: Buffer, _enc, done) {
      unpacked += chunk.byteLength;
      if (unpacked > RATIO_FREE_BYTES && unpacked > o.maxRatio * uploaded) {
        done(
          new ContextRatioTooHighError(
            `${what} unpacks to more than ${o.maxRatio} times its compressed size (${unpacked} bytes from ${uploaded}); the limit is SLIPWAY_AGENT_MAX_CONTEXT_RATIO`,
          ),
        );
        return;
      }
      done(null, chunk);
    },
  });
  const tar = extract();
  const done = (async () => {
    for await (const entry of tar) {
      const h = entry.header;
      if (++entries > o.maxEntries)
        throw new ContextTooManyEntriesError(
          `${what} has more than ${o.maxEntries} entries; the limit is SLIPWAY_AGENT_MAX_CONTEXT_ENTRIES`,
        );
      const parts = entryParts(h.name, h);
      switch (h.type) {
        case 'directory':
          await realFolder(parts, h, { create: true });
          break;
        case 'file':
        case 'contiguous-file': {
          if (parts.length === 0) refuse(h, 'names the context folder itself');
          total += h.size ?? 0;
          if (total > o.maxBytes) refuse(h, `takes the context over the limit of ${o.maxBytes} bytes`);
          const folder = await realFolder(parts.slice(0, -1), h, { create: true });
          claimName(parts, h);
          // 'wx': O_CREAT|O_EXCL fails on anything already there, a link included.
          const fh = await open(path.join(folder, parts.at(-1)!), 'wx', (h.mode ?? 0o644) & 0o777).catch(
            (err: NodeJS.ErrnoException) => {
              if (err.code === 'EEXIST') refuse(h, 'is in the archive twice, or collides with another entry');
              throw err;
            },
          );
          try {
            for await (const chunk of entry) await fh.write(chunk as Buffer);
          } finally {
            await fh.close();
          }
          files++;
          continue;
        }
        case 'symlink': {
          if (parts.length === 0) refuse(h, 'names the context folder itself');
          const to = h.linkname ?? '';
          if (to === '' || to.includes('\0')) refuse(h, 'is a link with an empty or unreadable target');
          if (path.posix.isAbsolute(to)) refuse(h, `is a link to the absolute path "${to}"`);
          claimName(parts, h);
          links.set(parts.join('/'), { header: h, parts, to });
          targets.set(parts.join('/'), to);
          // Judged now against the links so far, to name it before anything written through
          // it is; judged again at the end against them all.
          judgeLink(links.get(parts.join('/'))!);
          break;
        }
        case 'link': {
          if (parts.length === 0) refuse(h, 'names the context folder itself');
          const fromParts = entryParts(h.linkname ?? '', h);
          const fromFolder = await realFolder(fromParts.slice(0, -1), h, { create: false });
          const from = path.join(fromFolder, fromParts.at(-1) ?? '');
          const st = await lstat(from).catch(() => undefined);
          if (fromParts.length === 0 || !st?.isFile())
            refuse(h, `is a hard link to "${h.linkname}", which is not a file of the context`);
          const folder = await realFolder(parts.slice(0, -1), h, { create: true });
          claimName(parts, h);
          await link(from, path.join(folder, parts.at(-1)!)).catch((err: NodeJS.ErrnoException) => {
            if (err.code === 'EEXIST') refuse(h, 'is in the archive twice, or collides with another entry');
            throw err;
          });
          break;
        }
        default:
          refuse(h, `is a ${h.type ?? 'special'} entry; only files, folders and links may be in a context`);
      }
      entry.resume();
    }
  })();
  await Promise.all([gz ? pipeline(raw, createGunzip(), ratioGuard, tar) : pipeline(raw, tar), done]).catch(
    (err: unknown) => {
      if (err instanceof BuildFailure) throw err;
      throw new InvalidContextError(`${what} is not a readable tar archive: ${(err as Error).message}`, {
        cause: err,
      });
    },
  );
  const digest = hash.digest('hex');
  if (o.sha256 && digest !== o.sha256)
    throw new InvalidContextError(`the uploaded context's SHA-256 is ${digest}, not ${o.sha256} as uploaded`);

  // Every file and folder is in place: now the links, each judged against all of them.
  for (const l of links.values()) {
    judgeLink(l);
    const folder = await realFolder(l.parts.slice(0, -1), l.header, { create: true });
    await symlink(l.to, path.join(folder, l.parts.at(-1)!)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') refuse(l.header, 'collides with another entry of the archive');
      throw err;
    });
  }
  return { files, bytes: total };

  /** Refuses a link that, followed through the archive's links known so far, leads outside. */
  function judgeLink(l: { header: Header; parts: string[]; to: string }): void {
    const escape = leadsOutside(targets, l.parts.slice(0, -1), l.to);
    if (escape)
      refuse(
        l.header,
        `is a link to "${l.to}", which leads outside the context${escape.through.length > 0 ? ` (through the link "${escape.through.join('", "')}")` : ''}`,
      );
  }

  function refuse(h: Header, why: string): never {
    throw new InvalidContextError(`archive entry "${h.name}" ${why}`);
  }

  /** An entry's name as path components, refusing absolute names, "..", and NULs. */
  function entryParts(name: string, h: Header): string[] {
    if (name.includes('\0')) refuse(h, 'has a NUL in its name');
    if (path.posix.isAbsolute(name))
      refuse(h, name === h.name ? 'is an absolute path' : `names the absolute path "${name}"`);
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..'))
      refuse(h, name === h.name ? 'climbs out with ".."' : `names "${name}", which climbs out with ".."`);
    return parts;
  }

  /**
   * Refuses an entry when a folder on its path is one of the archive's links, or (unless
   * `parts` is only the folder it goes in) its own name is.
   */
  function claimName(parts: string[], h: Header, { folder = false } = {}): void {
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (!links.has(prefix)) continue;
      refuse(
        h,
        i === parts.length && !folder
          ? `collides with the link "${prefix}"`
          : `would be written through the link "${prefix}"`,
      );
    }
  }

  /**
   * The folder `parts` under the root, walked one component at a time with lstat: each must
   * be a real folder (made when missing and `create`), never a link or a file.
   */
  async function realFolder(parts: string[], h: Header, { create }: { create: boolean }): Promise<string> {
    claimName(parts, h, { folder: true });
    let at = root;
    for (const [i, part] of parts.entries()) {
      at = path.join(at, part);
      let st = await lstat(at).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (!st && create) {
        await mkdir(at, { mode: 0o755 });
        st = await lstat(at);
      }
      const shown = parts.slice(0, i + 1).join('/');
      if (!st) refuse(h, `needs the folder "${shown}", which is not in the context`);
      if (st.isSymbolicLink()) refuse(h, `would be written through the link "${shown}"`);
      if (!st.isDirectory()) refuse(h, `needs "${shown}" to be a folder, and it is not`);
    }
    return at;
  }
}

/**
 * Whether the link target `to`, read from the folder `from` (components under the context
 * root), leads above the root when followed as the kernel would, through `links` (every link
 * of the archive, by its path: "a/b" → its target). Components that are not links are taken
 * as folders, so a path that the kernel could not walk (through a file, or a missing folder)
 * is judged as if it could: that only refuses more. Returns the links followed on the way
 * out, or undefined when it stays inside.
 */
export function leadsOutside(
  links: ReadonlyMap<string, string>,
  from: readonly string[],
  to: string,
): { through: string[] } | undefined {
  const at = [...from];
  const rest = to.split('/');
  const through: string[] = [];
  while (rest.length > 0) {
    const part = rest.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (at.length === 0) return { through };
      at.pop();
      continue;
    }
    at.push(part);
    const key = at.join('/');
    const target = links.get(key);
    if (target === undefined) continue;
    // A chain the kernel would give up on (ELOOP) is refused too.
    if (through.length >= MAX_LINK_HOPS || target.startsWith('/')) return { through: [...through, key] };
    through.push(key);
    at.pop();
    rest.unshift(...target.split('/'));
  }
  return undefined;
}

/** The first `n` bytes of a stream, leaving them in it. */
async function peek(stream: Readable, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onReadable = () => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.unshift(chunk);
      resolve(chunk.subarray(0, n));
    };
    const onEnd = () => resolve(Buffer.alloc(0));
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', reject);
  });
}
