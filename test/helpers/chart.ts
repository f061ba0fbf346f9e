import { spawn } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { run } from './processes.js';

/**
 * Renders charts/slipway with tools/chart-render (Go's text/template and sprig, the libraries
 * helm is made of: no helm binary can be had here). The renderer is built on first use into
 * .work/bin/chart-render from Debian's Go packages (`scripts/devenv` installs them), offline.
 */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART = path.join(ROOT, 'charts/slipway');
const SOURCE = path.join(ROOT, 'tools/chart-render/main.go');
const BINARY = path.join(ROOT, '.work/bin/chart-render');

/** A rendered Kubernetes object: parsed YAML, shaped as the API defines it (loosely typed: tests read what they check). */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any;
};

let built: Promise<string> | undefined;

/** Builds the renderer when it is missing or older than its source; the path of the binary. */
export function chartRenderer(): Promise<string> {
  built ??= (async () => {
    const [bin, src] = await Promise.all([stat(BINARY).catch(() => undefined), stat(SOURCE)]);
    if (bin && bin.mtimeMs >= src.mtimeMs) return BINARY;
    await mkdir(path.dirname(BINARY), { recursive: true });
    await run('go', ['build', '-o', BINARY, './tools/chart-render'], {
      cwd: ROOT,
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: '/usr/share/gocode',
        GOCACHE: path.join(ROOT, '.work/go-cache'),
        GOFLAGS: '',
      },
    });
    return BINARY;
  })();
  return built;
}

/** The registry tests render Slipway's images from (the chart requires one: image.registry). */
export const TEST_IMAGE_REGISTRY = 'registry.example.com/slipway';

export interface RenderOptions {
  /** Values files, merged over the chart's values.yaml in order (helm's -f). */
  values?: string[];
  /** path=value overrides (helm's --set; the value is YAML). */
  set?: string[];
  /**
   * image.registry, which the chart requires (Slipway's images are published nowhere), as a --set
   * before the test's own (which may override it; --set wins over values files, so a test that
   * sets it in a file passes null). TEST_IMAGE_REGISTRY unless given; null leaves it unset. The
   * examples do not set it: a platform team names its own registry.
   */
  imageRegistry?: string | null;
  /** The chart's folder; charts/slipway unless given (a test's altered copy). */
  chart?: string;
  namespace?: string;
}

export interface Rendered {
  text: string;
  objects: K8sObject[];
}

/** Renders the chart and parses every document; rejects with the renderer's error output. */
export async function renderChart(options: RenderOptions = {}): Promise<Rendered> {
  const bin = await chartRenderer();
  const args = ['--name', 'slipway', '--namespace', options.namespace ?? 'slipway-system'];
  for (const f of options.values ?? []) args.push('-f', f);
  const registry = options.imageRegistry === undefined ? TEST_IMAGE_REGISTRY : options.imageRegistry;
  if (registry !== null) args.push('--set', `image.registry=${registry}`);
  for (const s of options.set ?? []) args.push('--set', s);
  args.push(options.chart ?? CHART);
  const text = await new Promise<string>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(err.trim() || `chart-render exited ${code}`)),
    );
  });
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0)
      throw new Error(`rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}\n${text}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) objects.push(value);
  }
  return { text, objects };
}

/** The one object of a kind (and name suffix, when given); throws when there is not exactly one. */
export function one(objects: K8sObject[], kind: string, nameSuffix = ''): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`want one ${kind} *${nameSuffix}, found ${found.length}`);
  return found[0]!;
}

/** Every workload's Pod template with the workload's name. */
export function podTemplates(objects: K8sObject[]): { workload: string; spec: K8sObject['spec'] }[] {
  return objects
    .filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet', 'Job'].includes(o.kind))
    .map((o) => ({ workload: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec }));
}
