/**
 * Platforms a build of several makes (`output.platforms`): `os/arch[/variant]` as OCI image
 * indexes name them, the node labels an agent must have to build one natively, and the name of
 * the build that makes each.
 */

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Most platforms one build makes. */
export const MAX_PLATFORMS = 8;

/** The node labels Kubernetes sets from a node's platform (and agents without a Node advertise). */
export const ARCH_LABEL = 'kubernetes.io/arch';
export const OS_LABEL = 'kubernetes.io/os';

const PLATFORM = /^([a-z0-9]+)\/([a-z0-9_]+)(?:\/(v[0-9]+))?$/;

/** The platform `text` names, or a sentence saying why it names none. */
export function parsePlatform(text: string): Platform | string {
  const m = PLATFORM.exec(text);
  if (!m) return `"${text}" is not a platform: os/arch or os/arch/variant, lower case (e.g. linux/arm64, linux/arm/v7)`;
  return { os: m[1]!, architecture: m[2]!, ...(m[3] ? { variant: m[3] } : {}) };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The labels a node must have to build `platform` natively. */
export function platformNodeLabels(p: Platform): Record<string, string> {
  return { [OS_LABEL]: p.os, [ARCH_LABEL]: p.architecture };
}

/** The name of the build that makes `platform` for build `parent`: web-3 and linux/arm/v7 give web-3-linux-arm-v7. */
export function platformBuildName(parent: string, platform: string): string {
  return `${parent}-${platform.replaceAll('/', '-').replaceAll('_', '-')}`;
}

/** Node's names for its process.arch, as Kubernetes (GOARCH) names them. */
const GOARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** The platform labels of the machine this process runs on, as a Node of it would carry them. */
export function ownPlatformLabels(arch: string = process.arch, os: string = process.platform): Record<string, string> {
  return { [OS_LABEL]: os === 'win32' ? 'windows' : os, [ARCH_LABEL]: GOARCH[arch] ?? arch };
}

/**
 * The platform build that makes `platform` for build `name` (its status.platforms), or a
 * sentence saying why there is none: the build makes other platforms, or only one image.
 */
export function platformBuildOf(
  name: string,
  platforms: readonly { platform: string; build: string }[],
  platform: string,
): { build: string } | { problem: string } {
  const found = platforms.find((p) => p.platform === platform);
  if (found) return { build: found.build };
  return {
    problem: platforms.length
      ? `build ${name} makes no platform ${platform} (it builds ${platforms.map((p) => p.platform).join(', ')})`
      : `build ${name} builds one image, not several platforms: name no platform`,
  };
}
