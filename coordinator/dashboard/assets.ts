import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../../common/errors.js';
import { PAGE_SCRIPTS } from './pages.js';
import { DASHBOARD_CSS } from './styles.js';

/** A file the dashboard serves under /ui/assets/. */
export interface Asset {
  body: Buffer;
  contentType: string;
  /** A strong ETag of the content: browsers revalidate and get 304 while it is unchanged. */
  etag: string;
}

/** The browser modules: client/*.ts, compiled by tsc beside this file (dist/coordinator/dashboard/client/). */
export const CLIENT_MODULES = ['common.js', ...Object.values(PAGE_SCRIPTS)];

/**
 * Reads the dashboard's files once, at start. The browser code is TypeScript in client/,
 * type-checked and compiled with everything else, so it lands in dist/ and in the image with
 * no step of its own; it is found from this module's own URL, wherever dist/ is. A missing file
 * stops the start with its path.
 */
export async function loadAssets(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const name of CLIENT_MODULES) {
    const url = new URL(`./client/${name}`, import.meta.url);
    let text: string;
    try {
      text = await readFile(url, 'utf8');
    } catch (err) {
      throw new Error(`the dashboard's ${fileURLToPath(url)} cannot be read (was it compiled?): ${errorMessage(err)}`, {
        cause: err,
      });
    }
    // The source maps are not served.
    assets.set(name, asset(text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'), 'text/javascript; charset=utf-8'));
  }
  assets.set('dashboard.css', asset(DASHBOARD_CSS, 'text/css; charset=utf-8'));
  assets.set('favicon.svg', asset(FAVICON_SVG, 'image/svg+xml'));
  return assets;
}

export function asset(text: string, contentType: string): Asset {
  const body = Buffer.from(text, 'utf8');
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** A hull on a slipway. Browsers ask for an icon on every page; without one they log a 404. */
const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M2 26 L30 14 L30 18 L2 30 Z" fill="#5b6673"/><path d="M8 19 L24 12 L26 17 L11 23 Z" fill="#0b5cad"/></svg>
`;
