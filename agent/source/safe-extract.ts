import { createHash } from 'node:crypto';
import { link, lstat, mkdir, open, realpath, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { InvalidContextError } from '../build-failures.js';

export interface ExtractOptions {
  /** Where the context goes; nothing is written outside it. */
  dir: string;
  /** Most bytes the extracted files may add up to. */
  maxBytes: number;
  /** The archive's SHA-256 (hex) as uploaded; a mismatch is refused. */
  sha256?: string;
}

/**
 * Extracts a build context (tar, or tar.gz: told by its first bytes) into `dir`, entry by
 * entry, refusing the whole archive on the first entry that is absolute, climbs with "..",
 * is a link leading outside `dir`, is a device or FIFO, or takes the total over `maxBytes`.
 * Writes go through `dir`'s real path and never follow an existing link at the last step.
 * @throws InvalidContextError naming the entry and why.
 */
export async function extractContext(archive: AsyncIterable<Uint8Array>, o: ExtractOptions): Promise<{ files: number; bytes: number }> {
  await mkdir(o.dir, { recursive: true });
  const root = await realpath(o.dir);
  const hash = createHash('sha256');
  let total = 0;
  let files = 0;

  const raw = Readable.from(
    (async function* () {
      for await (const chunk of archive) {
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
  const head = await peek(raw, 2);
  const tar = extract();
  const done = (async () => {
    for await (const entry of tar) {
      const h = entry.header;
      const target = await entryPath(root, h.name);
      switch (h.type) {
        case 'directory':
          await mkdir(target, { recursive: true });
          break;
        case 'file':
        case 'contiguous-file': {
          total += h.size ?? 0;
          if (total > o.maxBytes) refuse(h, `takes the context over the limit of ${o.maxBytes} bytes`);
          await mkdir(path.dirname(target), { recursive: true });
          await insideRoot(root, path.dirname(target), h);
          // 'wx': fails on anything already there, a link included, so nothing is written through one.
          const fh = await open(target, 'wx', (h.mode ?? 0o644) & 0o777);
          try {
            for await (const chunk of entry) await fh.write(chunk as Buffer);
          } finally {
            await fh.close();
          }
          files++;
          continue;
        }
        case 'symlink': {
          const to = h.linkname ?? '';
          if (path.isAbsolute(to)) refuse(h, `is a link to the absolute path "${to}"`);
          if (!within(root, path.resolve(path.dirname(target), to))) refuse(h, `is a link to "${to}", outside the context`);
          await mkdir(path.dirname(target), { recursive: true });
          await insideRoot(root, path.dirname(target), h);
          await symlink(to, target);
          break;
        }
        case 'link': {
          const from = await entryPath(root, h.linkname ?? '');
          await insideRoot(root, path.dirname(target), h);
          const st = await lstat(from).catch(() => undefined);
          if (!st?.isFile()) refuse(h, `is a hard link to "${h.linkname}", which is not a file of the context`);
          await link(from, target);
          break;
        }
        default:
          refuse(h, `is a ${h.type ?? 'special'} entry; only files, folders and links may be in a context`);
      }
      entry.resume();
    }
  })();
  const gz = head[0] === 0x1f && head[1] === 0x8b;
  await Promise.all([gz ? pipeline(raw, createGunzip(), tar) : pipeline(raw, tar), done]).catch((err: unknown) => {
    if (err instanceof InvalidContextError) throw err;
    throw new InvalidContextError(`the uploaded context is not a readable tar archive: ${(err as Error).message}`, { cause: err });
  });
  const digest = hash.digest('hex');
  if (o.sha256 && digest !== o.sha256) throw new InvalidContextError(`the uploaded context's SHA-256 is ${digest}, not ${o.sha256} as uploaded`);
  return { files, bytes: total };

  function refuse(h: Header, why: string): never {
    throw new InvalidContextError(`archive entry "${h.name}" ${why}`);
  }
  async function entryPath(base: string, name: string): Promise<string> {
    if (name.includes('\0')) throw new InvalidContextError(`archive entry "${name}" has a NUL in its name`);
    if (path.isAbsolute(name)) throw new InvalidContextError(`archive entry "${name}" is an absolute path`);
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw new InvalidContextError(`archive entry "${name}" climbs out with ".."`);
    return path.join(base, ...parts);
  }
  async function insideRoot(base: string, dir: string, h: Header): Promise<void> {
    // A folder reached through links made by earlier entries must still be inside the context.
    if (!within(base, await realpath(dir))) refuse(h, 'would be written through a link that leads outside the context');
  }
}

function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root + path.sep);
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
