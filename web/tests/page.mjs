// What the browser tests share: the built dashboard served from www/dist on a free
// loopback port, headless Chromium (Debian's, driven by playwright-core), the
// `data-testid` selector and screenshots into docs/screenshots/.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository's root. */
export const ROOT = path.resolve(HERE, '../..');
/** The built dashboard (`./scripts/web.sh`). */
export const DIST = path.join(ROOT, 'www/dist');
/** Where the README's pictures go. */
export const SHOTS = path.join(ROOT, 'docs/screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The selector of a `data-testid`. */
export const byId = (id) => `[data-testid="${id}"]`;

/** Serves www/dist on 127.0.0.1 at a free port; resolves to the server. */
export async function serveDist() {
  assertBuilt();
  const s = http.createServer((req, res) => {
    let p = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    if (p.endsWith('/')) p += 'index.html';
    const file = path.join(DIST, path.normalize(p));
    if (!file.startsWith(DIST)) {
      res.writeHead(403).end();
      return;
    }
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
      res.end(data);
    });
  });
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  return s;
}

/** Fails unless the dashboard was built. */
export function assertBuilt() {
  if (!fs.existsSync(path.join(DIST, 'index.html'))) {
    throw new Error('build the dashboard first: ./scripts/web.sh');
  }
  fs.mkdirSync(SHOTS, { recursive: true });
}

/** Headless Chromium with the flags this machine needs. */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Saves a screenshot of `target` (a page, scrolled to the top, or a locator). */
export async function shot(name, target) {
  if (typeof target.evaluate === 'function' && typeof target.goto === 'function') {
    await target.evaluate(() => window.scrollTo(0, 0));
  }
  await target.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/**
 * The dashboard served from www/dist and a Chromium page (1600×1200) on it: `{server,
 * base, browser, page, pageErrors, close()}`. Errors thrown in the page collect in
 * `pageErrors` (tests assert it stays empty).
 */
export async function startBrowser({ acceptDownloads = false } = {}) {
  const server = await serveDist();
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1600, height: 1200 }, acceptDownloads });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const close = async () => {
    await browser.close();
    server.close();
  };
  return { server, base, browser, page, pageErrors, close };
}
