import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, readlink, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import test, { type ExecutionContext } from 'ava';
import { ContextRatioTooHighError, ContextTooManyEntriesError, InvalidContextError } from '../agent/build-failures.js';
import { extractContext, leadsOutside, RATIO_FREE_BYTES } from '../agent/source/safe-extract.js';
import { mulberry32 } from './helpers/chaos/prng.js';
import { tarball, type TarEntry } from './helpers/tarball.js';

type Entry = TarEntry;

async function* once(b: Buffer): AsyncIterable<Uint8Array> {
  yield b;
}

const LIMITS = { maxBytes: 64 * 1024 ** 2, maxEntries: 10_000, maxRatio: 100 };

/**
 * A sandbox folder with the context four folders down (sandbox/p/q/r/ctx), so a link that
 * climbs a few levels lands in the sandbox, where anything made is seen; deeper climbs reach
 * the filesystem root, where the test looks for its unique marker names.
 */
async function sandbox(t: ExecutionContext): Promise<{ box: string; ctx: string }> {
  const box = path.join(tmpdir(), `slipway-extract-${randomBytes(4).toString('hex')}`);
  const ctx = path.join(box, 'p', 'q', 'r', 'ctx');
  await mkdir(path.dirname(ctx), { recursive: true });
  t.teardown(() => rm(box, { recursive: true, force: true }));
  return { box, ctx };
}

/** Every path under `dir`, relative to it, links not followed. */
async function tree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, d.name);
    out.push(rel);
    if (d.isDirectory()) out.push(...(await tree(dir, rel)));
  }
  return out;
}

/** Checks that nothing exists in the sandbox but the context's own folders and what is in it. */
async function nothingOutside(t: ExecutionContext, box: string, markers: string[], label: string): Promise<void> {
  const outside = (await tree(box)).filter(
    (p) => !p.startsWith(path.join('p', 'q', 'r', 'ctx')) && !['p', 'p/q', 'p/q/r'].includes(p),
  );
  t.deepEqual(outside, [], `${label}: nothing is made in the sandbox outside the context`);
  for (const m of markers) {
    for (const place of ['/', '/tmp', tmpdir(), box])
      t.false(existsSync(path.join(place, m)), `${label}: nothing named ${m} in ${place}`);
  }
}

async function refusal(
  t: ExecutionContext,
  entries: Entry[],
  limits = LIMITS,
): Promise<{ err: Error; box: string; ctx: string }> {
  const { box, ctx } = await sandbox(t);
  const err = await t.throwsAsync(extractContext(once(await tarball(entries)), { dir: ctx, ...limits }));
  return { err: err!, box, ctx };
}

/** up -> ., e0 -> up/.., e1 -> e0/.., ...: each link, read as text, stays inside. */
function chain(depth: number): Entry[] {
  const links: Entry[] = [{ name: 'up', type: 'symlink', linkname: '.' }];
  for (let i = 0; i < depth; i++)
    links.push({ name: `e${i}`, type: 'symlink', linkname: `${i === 0 ? 'up' : `e${i - 1}`}/..` });
  return links;
}

test("the issue's archive (a chain of twelve links, then a folder and a file through it) makes nothing outside the context", async (t) => {
  const m = `pwned-${randomBytes(4).toString('hex')}`;
  const entries: Entry[] = [
    ...chain(12),
    { name: `e11/tmp/${m}-dir/`, type: 'directory' },
    { name: `e11/tmp/${m}-file/f`, content: 'gotcha' },
  ];
  const { err, box } = await refusal(t, entries);
  t.true(err instanceof InvalidContextError);
  // The chain is refused at its first link that leads out, before anything goes through it.
  t.is(err.message, 'archive entry "e0" is a link to "up/..", which leads outside the context (through the link "up")');
  await nothingOutside(t, box, [`${m}-dir`, `${m}-file`], 'issue archive');
});

test('chains of any depth: folders, files, hard links and links through them are refused, naming the entry', async (t) => {
  for (let depth = 1; depth <= 16; depth++) {
    const m = `pwned-${randomBytes(4).toString('hex')}`;
    const last = `e${depth - 1}`;
    const through: Entry[] = [
      { name: `${last}/tmp/${m}/`, type: 'directory' },
      { name: `${last}/tmp/${m}`, content: 'gotcha' },
      { name: `${last}/tmp/${m}`, type: 'link', linkname: 'Dockerfile' },
      { name: `${last}/tmp/${m}`, type: 'symlink', linkname: '.' },
    ];
    for (const [i, e] of through.entries()) {
      // The entry first, the chain after it: the links are judged whenever they come.
      for (const order of ['links first', 'links last'] as const) {
        const entries =
          order === 'links first'
            ? [{ name: 'Dockerfile' }, ...chain(depth), e]
            : [{ name: 'Dockerfile' }, e, ...chain(depth)];
        const label = `depth ${depth}, ${e.type ?? 'file'} ${i}, ${order}`;
        const { err, box } = await refusal(t, entries);
        t.true(err instanceof InvalidContextError, label);
        // Which entry is named depends on the order; either way an entry is named, and why.
        t.regex(
          err.message,
          /^archive entry "[^"]+" (would be written through the link|is a link to "[^"]+", which leads outside the context|needs the folder)/,
          `${label}: ${err.message}`,
        );
        await nothingOutside(t, box, [m], label);
      }
    }
  }
});

test('a chain of links leading out is refused even when nothing is written through it', async (t) => {
  const { err, box } = await refusal(t, [{ name: 'Dockerfile' }, ...chain(3)]);
  t.regex(
    err.message,
    /^archive entry "e0" is a link to "up\/\.\.", which leads outside the context \(through the link "up"\)$/,
  );
  await nothingOutside(t, box, [], 'chain only');
  // When "a" comes, "b" is no link yet and a -> b/.. stays inside; the links after it make it
  // lead out, and it is judged again once all are known.
  const later = await refusal(t, [
    { name: 'a', type: 'symlink', linkname: 'b/..' },
    { name: 'b', type: 'symlink', linkname: 'c' },
    { name: 'c', type: 'symlink', linkname: '.' },
  ]);
  t.is(
    later.err.message,
    'archive entry "a" is a link to "b/..", which leads outside the context (through the link "b", "c")',
  );
  await nothingOutside(t, later.box, [], 'links made outward by later links');
  const loop = await refusal(t, [
    { name: 'a', type: 'symlink', linkname: 'b' },
    { name: 'b', type: 'symlink', linkname: 'a' },
  ]);
  t.regex(loop.err.message, /leads outside the context/, 'a loop the kernel would give up on is refused');
});

test('a link swapped in between entries: nothing is ever written through it', async (t) => {
  const m = `pwned-${randomBytes(4).toString('hex')}`;
  const cases: { entries: Entry[]; why: RegExp }[] = [
    // A folder, then a link of the same name, then a file into "it".
    {
      entries: [
        { name: 'sub/', type: 'directory' },
        { name: 'sub/a' },
        { name: 'sub', type: 'symlink', linkname: '.' },
        { name: `sub/${m}` },
      ],
      why: /"sub\/pwned-[0-9a-f]+" would be written through the link "sub"/,
    },
    // A harmless-looking link inside, then a deeper file through it.
    {
      entries: [{ name: 'x', type: 'symlink', linkname: '.' }, { name: `x/${m}` }],
      why: /would be written through the link "x"/,
    },
    // A link, then a folder of the same name.
    {
      entries: [
        { name: 'x', type: 'symlink', linkname: '.' },
        { name: 'x/', type: 'directory' },
      ],
      why: /would be written through the link "x"|collides with the link "x"/,
    },
    // A link made inside a folder reached through another link.
    {
      entries: [
        { name: 'd/', type: 'directory' },
        { name: 'l', type: 'symlink', linkname: 'd' },
        { name: 'l/up', type: 'symlink', linkname: '../..' },
      ],
      why: /would be written through the link "l"/,
    },
    // A link to a folder that is itself made later through another path.
    {
      entries: [
        { name: 'a', type: 'symlink', linkname: 'b/../..' },
        { name: 'b/', type: 'directory' },
      ],
      why: /is a link to "b\/\.\.\/\.\.", which leads outside/,
    },
    // A hard link whose source is reached through a link.
    {
      entries: [
        { name: 'f' },
        { name: 'l', type: 'symlink', linkname: '.' },
        { name: 'h', type: 'link', linkname: 'l/f' },
      ],
      why: /would be written through the link "l"/,
    },
    // A hard link to a link.
    {
      entries: [
        { name: 'l', type: 'symlink', linkname: '.' },
        { name: 'h', type: 'link', linkname: 'l' },
      ],
      why: /is a hard link to "l", which is not a file of the context|collides with the link|written through the link/,
    },
    // A file over a file of the same name.
    { entries: [{ name: 'f' }, { name: 'f' }], why: /"f" is in the archive twice/ },
  ];
  for (const [i, c] of cases.entries()) {
    const { err, box } = await refusal(t, c.entries);
    t.true(err instanceof InvalidContextError, `case ${i}`);
    t.regex(err.message, c.why, `case ${i}: ${err.message}`);
    await nothingOutside(t, box, [m], `case ${i}`);
  }
});

test('an ordinary context with folders, links inside it and hard links unpacks as it was packed (plain and gzipped)', async (t) => {
  const entries: Entry[] = [
    { name: './', type: 'directory' },
    { name: 'Dockerfile', content: 'FROM scratch\n' },
    { name: 'src/', type: 'directory' },
    { name: 'src/lib/', type: 'directory' },
    { name: 'src/lib/a.js', content: 'a' },
    { name: 'lib', type: 'symlink', linkname: 'src/lib' },
    { name: 'src/lib/up', type: 'symlink', linkname: '../..' },
    { name: 'self', type: 'symlink', linkname: '.' },
    { name: 'via', type: 'symlink', linkname: 'lib/../lib/a.js' },
    { name: 'dangling', type: 'symlink', linkname: 'not/there' },
    { name: 'hard.js', type: 'link', linkname: 'src/lib/a.js' },
    { name: 'deep/er/file', content: 'deep' },
  ];
  for (const gz of [false, true]) {
    const { box, ctx } = await sandbox(t);
    const archive = await tarball(entries);
    const r = await extractContext(once(gz ? gzipSync(archive) : archive), { dir: ctx, ...LIMITS });
    t.deepEqual(r, { files: 3, bytes: 'FROM scratch\n'.length + 1 + 4 });
    t.is(await readFile(path.join(ctx, 'lib', 'a.js'), 'utf8'), 'a');
    t.is(await readFile(path.join(ctx, 'via'), 'utf8'), 'a');
    t.is(await readlink(path.join(ctx, 'src/lib/up')), '../..');
    t.is(await realpath(path.join(ctx, 'self')), await realpath(ctx));
    t.is((await lstat(path.join(ctx, 'hard.js'))).nlink, 2);
    t.is(await readFile(path.join(ctx, 'deep/er/file'), 'utf8'), 'deep');
    await nothingOutside(t, box, [], gz ? 'gzip' : 'tar');
  }
});

test('random archives of links, folders and files never make anything outside the context', async (t) => {
  const seed = Number(process.env.SLIPWAY_EXTRACT_SEED ?? randomBytes(4).readUInt32LE());
  t.log(`seed ${seed} (SLIPWAY_EXTRACT_SEED=${seed} replays it)`);
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const names = ['a', 'b', 'c', 'up'];
  const steps = ['a', 'b', 'c', 'up', '.', '..', '..'];
  const m = `pwned-${randomBytes(4).toString('hex')}`;
  let accepted = 0;
  for (let round = 0; round < 300; round++) {
    const entries: Entry[] = [];
    const count = 2 + Math.floor(rand() * 10);
    for (let i = 0; i < count; i++) {
      const name = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(names)).join('/');
      const kind = pick(['symlink', 'directory', 'directory', 'file', 'file', 'link'] as const);
      if (kind === 'symlink')
        entries.push({
          name,
          type: 'symlink',
          linkname: Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(steps)).join('/'),
        });
      else if (kind === 'directory') entries.push({ name: `${name}/`, type: 'directory' });
      else if (kind === 'link') entries.push({ name, type: 'link', linkname: pick(names) });
      else entries.push({ name: rand() < 0.3 ? `${name}/tmp/${m}` : name });
    }
    const { box, ctx } = await sandbox(t);
    const ok = await extractContext(once(await tarball(entries)), { dir: ctx, ...LIMITS }).then(
      () => true,
      (err: unknown) => {
        if (!(err instanceof InvalidContextError)) throw err;
        return false;
      },
    );
    await nothingOutside(t, box, [m], `seed ${seed} round ${round}: ${JSON.stringify(entries)}`);
    if (!ok) continue;
    accepted++;
    // Every link left in an accepted context resolves inside it, or nowhere.
    const root = await realpath(ctx);
    for (const p of await tree(ctx)) {
      if (!(await lstat(path.join(ctx, p))).isSymbolicLink()) continue;
      const to = await realpath(path.join(ctx, p)).catch(() => undefined);
      if (to !== undefined)
        t.true(to === root || to.startsWith(root + path.sep), `seed ${seed} round ${round}: ${p} -> ${to}`);
    }
  }
  t.log(`${accepted} of 300 random archives were accepted`);
});

test('leadsOutside follows links as the kernel does', (t) => {
  const links = new Map([
    ['up', '.'],
    ['e0', 'up/..'],
    ['in', 'sub/..'],
    ['sub/back', '..'],
    ['sub/out', '../..'],
  ]);
  t.deepEqual(leadsOutside(links, [], 'up/..'), { through: ['up'] });
  t.is(leadsOutside(links, [], 'in'), undefined);
  t.is(leadsOutside(links, ['sub'], 'back/sub/back'), undefined);
  t.deepEqual(leadsOutside(links, [], 'sub/out'), { through: ['sub/out'] });
  t.deepEqual(leadsOutside(links, [], 'e0'), { through: ['e0', 'up'] });
  t.deepEqual(leadsOutside(new Map([['abs', '/etc']]), [], 'abs'), { through: ['abs'] });
});

test('a context with more entries than the limit fails ContextTooManyEntries', async (t) => {
  const entries = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}` }));
  const { err } = await refusal(t, entries, { ...LIMITS, maxEntries: 10 });
  t.true(err instanceof ContextTooManyEntriesError);
  t.is((err as ContextTooManyEntriesError).reason, 'ContextTooManyEntries');
  t.regex(err.message, /more than 10 entries; the limit is SLIPWAY_AGENT_MAX_CONTEXT_ENTRIES/);
  const { ctx } = await sandbox(t);
  await t.notThrowsAsync(
    extractContext(once(await tarball(entries.slice(0, 10))), { dir: ctx, ...LIMITS, maxEntries: 10 }),
    'ten entries are within a limit of ten',
  );
});

test('a small upload that unpacks to far more than its ratio allows fails ContextRatioTooHigh; plain tar is never judged', async (t) => {
  const zeros = await tarball([{ name: 'zeros', content: Buffer.alloc(RATIO_FREE_BYTES + 4 * 1024 ** 2) }]);
  const bomb = gzipSync(zeros);
  t.true(bomb.length * 100 < zeros.length, 'the archive compresses by more than 100:1');
  const { box, ctx } = await sandbox(t);
  const refused = await t.throwsAsync(extractContext(once(bomb), { dir: ctx, ...LIMITS }));
  t.true(refused instanceof ContextRatioTooHighError, String(refused));
  t.regex(refused!.message, /unpacks to more than 100 times its compressed size .*SLIPWAY_AGENT_MAX_CONTEXT_RATIO/);
  await nothingOutside(t, box, [], 'ratio');
  const allowed = await sandbox(t);
  await t.notThrowsAsync(
    extractContext(once(bomb), { dir: allowed.ctx, ...LIMITS, maxRatio: 5000 }),
    'a higher ratio lets it through',
  );
  const plain = await sandbox(t);
  await t.notThrowsAsync(
    extractContext(once(zeros), { dir: plain.ctx, ...LIMITS }),
    'an uncompressed tar has a ratio of 1',
  );
  // Under the free allowance, any ratio is fine.
  const small = await sandbox(t);
  await t.notThrowsAsync(
    extractContext(once(gzipSync(await tarball([{ name: 'z', content: Buffer.alloc(1024 ** 2) }]))), {
      dir: small.ctx,
      ...LIMITS,
    }),
  );
});
