import { pack } from 'tar-stream';

/** One entry of a test archive; a file's content defaults to "x", a device is /dev/null's numbers. */
export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device';
  linkname?: string;
  content?: string | Buffer;
}

/** A tar archive of the given entries, in that order, made with tar-stream (no check of what they name). */
export async function tarball(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, devmajor: 1, devminor: 3 };
    if (header.type === 'file') p.entry(header, e.content ?? 'x');
    else p.entry(header).end(Buffer.alloc(0));
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
