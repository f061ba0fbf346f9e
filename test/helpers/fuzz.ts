import { slipwayProto } from '../../common/grpc/proto.js';

/** A seeded pseudo-random source (mulberry32): the same seed gives the same requests. */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** Strings a hostile or careless client sends: empty, huge, NATS wildcards, paths, control characters. */
function hostileString(r: Random): string {
  switch (r.int(14)) {
    case 0:
      return '';
    case 1:
      return r.pick(['default', 'hello', 'app', 'a', 'team-a', 'hello-1']);
    case 2:
      return 'x'.repeat(r.pick([63, 64, 253, 254, 300, 5000]));
    case 3:
      return r.pick(['*', '>', 'a.*', 'default.>', 'a.b', '.', '..', '../../etc/passwd', '/', 'a/b']);
    case 4:
      return r.pick(['\u0000', 'a\u0000b', '\n', 'a b', '\t', '\r\n', 'ä', '✓', '\uD800', '\u202E']);
    case 5:
      return r.pick(['UPPER', '-lead', 'trail-', 'a_b', 'a--b', '1', '0x10', 'null', 'undefined', '[]', '{}']);
    case 6:
      return r.pick([
        'git://127.0.0.1:1/x',
        'http://user:pass@host/r',
        'ssh://git@host/r',
        'file:///etc',
        'ext::sh -c id',
        '-uhelp',
        'https://',
      ]);
    case 7:
      return r.pick([
        '127.0.0.1:5000/a/b:tag',
        'img@sha256:abc',
        'UPPER/img',
        'a:b:c',
        ':tag',
        'img:',
        'x'.repeat(300) + '/i',
      ]);
    case 8:
      return r.pick(['main', 'refs/heads/main', '--upload-pack=id', 'a..b', 'HEAD~1', '^', '@{-1}', 'v1.0']);
    case 9:
      return r.pick(['1', '0.5', '-1', '1e9', '500m', '64Mi', '1Ei', 'NaN', 'Infinity', '1.5.5']);
    case 10:
      return r.pick(['docker-registry', 'basic-auth', 'ssh-auth', 'opaque']);
    case 11:
      return r.bytes(r.int(40)).toString('latin1');
    case 12:
      return 'x'.repeat(r.pick([1 << 16, 1 << 20]));
    default:
      return r.bytes(r.int(24)).toString('hex');
  }
}

function hostileNumber(r: Random): number {
  return r.pick([
    0,
    1,
    -1,
    2,
    7,
    100,
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 32,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    r.int(1000),
  ]);
}

interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType?: MessageDescriptor[];
  options?: { mapEntry?: boolean } | null;
}

type Package = Record<string, { type?: MessageDescriptor & { value?: { name: string }[] } }>;

/**
 * A random message of the named type, built from the proto's own descriptors: every field may be
 * set (or not) to a hostile value of its type; nested messages to a bounded depth.
 */
export function randomMessage(r: Random, typeName: string, depth = 0): Record<string, unknown> {
  const pkg = slipwayProto().slipway.v1 as unknown as Package;
  const type = pkg[typeName]?.type;
  if (!type) throw new Error(`no message type ${typeName}`);
  return fill(r, type, pkg, depth);
}

function fill(r: Random, type: MessageDescriptor, pkg: Package, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.field) {
    if (!r.chance(0.7)) continue;
    const nested = type.nestedType?.find((n) => n.name === f.typeName);
    if (nested && (nested.options?.mapEntry || nested.field.some((x) => x.name === 'key'))) {
      const map: Record<string, string> = {};
      for (let i = r.int(4); i > 0; i--) map[hostileString(r)] = hostileString(r);
      out[f.name] = map;
      continue;
    }
    const one = () => value(r, f, nested ?? pkg[f.typeName]?.type, pkg, depth);
    out[f.name] = f.label === 'LABEL_REPEATED' ? Array.from({ length: r.int(4) }, one) : one();
  }
  return out;
}

function value(
  r: Random,
  f: FieldDescriptor,
  type: (MessageDescriptor & { value?: { name: string }[] }) | undefined,
  pkg: Package,
  depth: number,
): unknown {
  switch (f.type) {
    case 'TYPE_STRING':
      return hostileString(r);
    case 'TYPE_BOOL':
      return r.chance(0.5);
    case 'TYPE_BYTES':
      return r.bytes(r.int(64));
    case 'TYPE_INT32':
    case 'TYPE_INT64':
    case 'TYPE_UINT32':
    case 'TYPE_UINT64':
    case 'TYPE_SINT32':
    case 'TYPE_SINT64':
      return hostileNumber(r);
    case 'TYPE_DOUBLE':
    case 'TYPE_FLOAT':
      return r.pick([0, -1, 0.5, 1e308, Number.NaN]);
    case 'TYPE_ENUM':
      return type?.value && r.chance(0.8) ? r.pick(type.value).name : r.int(50);
    case 'TYPE_MESSAGE':
      return type && depth < 6 ? fill(r, type, pkg, depth + 1) : {};
    default:
      return undefined;
  }
}

/** Bytes that look like protobuf and are not: truncated, bit-flipped, wrong wire types, lengths past the end, deep nesting. */
export function malformedBytes(r: Random, valid: Buffer): Buffer {
  switch (r.int(7)) {
    case 0:
      return r.bytes(r.int(512));
    case 1:
      return valid.subarray(0, Math.max(0, valid.length - 1 - r.int(Math.max(1, valid.length))));
    case 2: {
      const b = Buffer.from(valid);
      for (let i = 1 + r.int(8); i > 0 && b.length > 0; i--) b[r.int(b.length)] ^= 1 << r.int(8);
      return b;
    }
    case 3:
      // Field 1 as a varint, a fixed64 and a group where a string or message belongs.
      return Buffer.concat([Buffer.from([r.pick([0x08, 0x09, 0x0b, 0x0d, 0x0f])]), r.bytes(r.int(16))]);
    case 4:
      // A length far past the end of the message.
      return Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x41]);
    case 5: {
      // Field 1 nested in itself thousands of times: deeper than any message of the proto.
      let inner = Buffer.from([0x0a, 0x01, 0x41]);
      for (let i = r.pick([50, 1000, 5000]); i > 0; i--)
        inner = Buffer.concat([Buffer.from([0x0a]), varint(inner.length), inner]);
      return inner;
    }
    default: {
      // Unknown groups nested deeper than a recursive decoder's stack.
      const depth = r.pick([100, 10_000, 100_000]);
      return Buffer.concat([Buffer.alloc(depth, 0xfb), Buffer.from([0x08, 0x01]), Buffer.alloc(depth, 0xfc)]);
    }
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
