// Browser tests of the leasehold dashboard, in real headless Chromium (Debian's
// `chromium`, driven by playwright-core). Run: `node --test browser.test.mjs` after
// `./scripts/web.sh` has built www/dist (or `./scripts/web.sh test`, which does both).
//
// The tests serve www/dist from a static server of their own on a free port, walk the
// operator's flows through the page's fixed `data-testid` hooks, save a screenshot of
// each main view into docs/screenshots/ (the README's pictures), and print the figures:
// the page's own cost per 100 ms tick with 10,000 leases at 1× and Chromium's count of
// the main thread's work over the same 40 s (both held to the tick budget), and the
// .wasm size.
// Then they walk every guided chapter (`#/learn/N`) from its first step to its last,
// pressing Continue as soon as the story offers it.
//
// One test imports a log written by a service that embeds the driver: the file
// `LEASEHOLD_EMBED_LOG` names, or else one the test has
// `cargo run -p leasehold --features driver --example embed -- --keep FILE` write.

import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { DIST, ROOT, byId, shot as shotOf, startBrowser } from './page.mjs';

// The README's figures: the main thread's mean cost per 100 ms tick, 10,000 leases at
// 1×, by the page's own meter (budget 8 ms) and by Chromium's count of every main-thread
// task (script, style, layout, paint, compositing). Chromium's count is 8.8–10.8 ms on
// the development machine, over the 8 ms the project aims for; the test holds it to
// 12 ms so that it cannot grow unnoticed. Chromium counts wall-clock time, so on a
// machine shared with other work its figure grows; a run there may say how much it
// allows with LEASEHOLD_CHROMIUM_BUDGET_MS.
const TICK_BUDGET_MS = Number(process.env.LEASEHOLD_TICK_BUDGET_MS || 8);
const CHROMIUM_BUDGET_MS = Number(process.env.LEASEHOLD_CHROMIUM_BUDGET_MS || 12);
const WASM_GZ_BUDGET = 480 * 1024;

let ctx;
let base;
let page;
let pageErrors = [];

async function simMs(p = page) {
  return Number(await p.locator(byId('sim-time')).getAttribute('data-ms'));
}

async function open(query, p = page) {
  await p.goto(`${base}/${query}`);
  await p.locator(byId('sim-time')).waitFor();
}

async function setSpeed(x, p = page) {
  await p.locator(byId('speed')).evaluate((el, pos) => {
    el.value = String(pos);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, Math.log10(x));
}

async function playing(p = page) {
  return (await p.locator(byId('play-pause')).getAttribute('data-playing')) === 'true';
}

async function play(p = page) {
  if (!(await playing(p))) await p.locator(byId('play-pause')).click();
  assert.equal(await playing(p), true);
}

async function pause(p = page) {
  if (await playing(p)) await p.locator(byId('play-pause')).click();
  assert.equal(await playing(p), false);
}

/** Plays until simulated time reaches `ms`, then pauses. */
async function runUntil(ms, p = page) {
  await play(p);
  await p.waitForFunction(
    (target) => Number(document.querySelector('[data-testid="sim-time"]').dataset.ms) >= target,
    ms,
    { timeout: 90_000 },
  );
  await pause(p);
}

/** Every lease row on screen: key, holder, token, whether pinned. */
async function rows(p = page) {
  return p.locator(byId('lease-row')).evaluateAll((els) =>
    els.map((el) => ({
      key: el.dataset.key,
      holder: el.dataset.holder,
      token: el.dataset.token,
      pinned: el.querySelector('[data-testid="pin-badge"]') !== null,
    })),
  );
}

function row(key, p = page) {
  return p.locator(`${byId('lease-row')}[data-key="${key}"]`);
}

async function rowOf(key, p = page) {
  const r = row(key, p);
  if ((await r.count()) === 0) return null;
  return {
    holder: await r.getAttribute('data-holder'),
    token: await r.getAttribute('data-token'),
    pinned: (await r.locator(byId('pin-badge')).count()) > 0,
  };
}

async function events(kind, key, p = page) {
  return p.locator(`${byId('event-item')}[data-kind="${kind}"][data-key="${key}"]`).count();
}

/** A log file written by the driver (core/examples/embed.rs), named `embed.lhlog`. */
function embedLog() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leasehold-embed-'));
  const file = path.join(dir, 'embed.lhlog');
  if (process.env.LEASEHOLD_EMBED_LOG) {
    fs.copyFileSync(process.env.LEASEHOLD_EMBED_LOG, file);
  } else {
    execFileSync('cargo', ['run', '-q', '-p', 'leasehold', '--features', 'driver', '--example', 'embed', '--', '--keep', file], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 10 * 60_000,
    });
  }
  return file;
}

/** The frames of a log file: where each starts and its payload's length. */
function frames(bytes) {
  const header = bytes[7] === 1 ? 8 : 12; // format version 1: len crc; 2: len crc hcrc
  const out = [];
  for (let at = 8; at + header <= bytes.length; ) {
    const len = bytes.readUInt32LE(at);
    if (at + header + len > bytes.length) break;
    out.push({ offset: at, header, len });
    at += header + len;
  }
  return out;
}

async function shot(name, target = page) {
  await shotOf(name, target);
}

before(async () => {
  ctx = await startBrowser({ acceptDownloads: true });
  ({ base, page, pageErrors } = ctx);
});

afterEach(() => {
  assert.deepEqual(pageErrors.splice(0), [], 'no error in the page');
});

after(async () => {
  await ctx?.close();
});

test('loads, and starts a scenario from the picker and from a link', async () => {
  await open('?scenario=ps45&seed=3&leases=20');
  assert.equal(await simMs(), 0);
  assert.equal(await page.locator(byId('scenario-select')).inputValue(), 'ps45');
  assert.equal(await page.locator(byId('invariant-status')).getAttribute('data-violations'), '0');
  // The picker starts a preset at once, keeps the seed, and puts the run in the URL.
  await page.locator(byId('scenario-select')).selectOption('fencing-race');
  await page.waitForFunction(() => location.search.includes('scenario=fencing-race'));
  assert.match(page.url(), /seed=3/);
  assert.match(await page.locator(byId('run-source')).textContent(), /fencing-race/);
  // Its parameters: back to ps45 with 20 leases, started with the restart button.
  await page.locator(byId('scenario-select')).selectOption('ps45');
  await page.locator('details.params summary').click();
  await page.locator(byId('param-leases')).fill('20');
  await page.locator(byId('param-leases')).press('Tab');
  await page.locator(byId('start')).click();
  await page.waitForFunction(() => location.search.includes('leases=20'));
  assert.match(page.url(), /scenario=ps45&seed=3&leases=20/);
  await page.locator('details.params summary').click();
  // A link reproduces the run.
  await open('?scenario=ps45&seed=3&leases=20');
  assert.equal(await page.locator(byId('active-leases')).getAttribute('data-active'), '0');
});

test('plays, pauses and steps one batch', async () => {
  await setSpeed(20);
  await runUntil(15_000);
  // 20 leases and 3 singular leases, each with a leader.
  assert.equal((await rows()).length, 23);
  const paused = await simMs();
  await page.waitForTimeout(400);
  assert.equal(await simMs(), paused, 'paused: time stands still');
  const batches = Number(await page.locator(byId('timeline-position')).getAttribute('data-end'));
  await page.locator(byId('step')).click();
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="timeline-position"]').dataset.end) >= n + 1,
    batches,
  );
  assert.ok((await simMs()) > paused);
  const items = page.locator(byId('batch-item'));
  assert.ok((await items.count()) > 0);
  assert.ok(Number(await items.first().getAttribute('data-ops')) >= 1);
  assert.ok(Number(await items.first().getAttribute('data-bytes')) > 0);
  for (const lane of ['singular', 'extend', 'admin', 'claim']) {
    assert.ok((await page.locator(byId(`lane-${lane}`)).getAttribute('data-depth')) !== null);
  }
});

test("a pinned lease outlives its holder's crash; unpinned, it expires", async () => {
  const first = (await rows())[0];
  await row(first.key).click();
  await page.locator(byId('lease-pin')).click();
  await page.locator(byId('pin-entity')).fill('machine-7');
  await page.locator(byId('pin-reason')).fill('kernel upgrade');
  await page.locator(byId('pin-until')).fill('');
  await page.locator(byId('pin-submit')).click();
  await runUntil((await simMs()) + 1_000);
  assert.equal((await rowOf(first.key)).pinned, true, 'the pin badge shows');
  await page.locator(byId('holder-crash')).click();
  await setSpeed(100);
  // Well past the 60 s the holder last renewed for.
  await runUntil((await simMs()) + 120_000);
  const pinned = await rowOf(first.key);
  assert.deepEqual(pinned, { holder: first.holder, token: first.token, pinned: true });
  assert.equal(await events('expired', first.key), 0);
  await shot('dashboard');
  await shot('lease-table', page.locator('.panel.leases'));

  await page.locator(byId('lease-unpin')).click();
  await runUntil((await simMs()) + 5_000);
  const after = await rowOf(first.key);
  assert.ok(after === null || (after.holder !== first.holder && after.token !== first.token), JSON.stringify(after));
  assert.ok((await events('expired', first.key)) > 0, 'the event log shows the expiry');
  assert.equal(await page.locator(byId('invariant-status')).getAttribute('data-violations'), '0');
});

test('revoke deposes the holder', async () => {
  const second = (await rows())[1];
  await row(second.key).click();
  await page.locator(byId('lease-revoke')).click();
  await runUntil((await simMs()) + 3_000);
  assert.ok((await events('revoked', second.key)) > 0, 'the event log shows the revocation');
  const now = await rowOf(second.key);
  assert.ok(now === null || now.token !== second.token, JSON.stringify(now));
  await shot('events', page.locator('.panel.events'));
});

test('batch detail, queue, charts, timeline and keyboard', async () => {
  await setSpeed(10);
  await runUntil((await simMs()) + 10_000);
  await shot('queue-batches', page.locator('.panel.side'));
  await shot('charts', page.locator('.panel.charts-panel'));
  assert.ok(Number(await page.locator(byId('chart-throughput')).getAttribute('data-points')) > 10);
  assert.ok(Number(await page.locator(byId('chart-latency')).getAttribute('data-points')) > 10);

  // A batch, decoded, with the answer each operation got: the largest on the list.
  const sizes = await page.locator(byId('batch-item')).evaluateAll((els) => els.map((el) => Number(el.dataset.ops)));
  const largest = sizes.indexOf(Math.max(...sizes));
  const item = page.locator(byId('batch-item')).nth(largest);
  const ops = Number(await item.getAttribute('data-ops'));
  await item.click();
  await page.locator(byId('batch-detail')).waitFor();
  assert.equal(await page.locator(byId('batch-op')).count(), Math.min(ops, 400));
  assert.match(await page.locator(byId('batch-detail')).textContent(), /ok/);
  await page.keyboard.press('Escape');
  assert.equal(await page.locator(byId('batch-detail')).count(), 0);

  // The timeline shows an earlier moment, then returns to the head.
  const end = Number(await page.locator(byId('timeline-position')).getAttribute('data-end'));
  await page.locator(byId('timeline')).evaluate((el) => {
    el.value = String(Math.floor(Number(el.max) / 3));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await page.locator(byId('to-head')).waitFor();
  const pos = Number(await page.locator(byId('timeline-position')).getAttribute('data-pos'));
  assert.equal(pos, Math.floor(end / 3));
  assert.ok(await page.locator(byId('lease-pin')).isDisabled(), 'no operator action in the past');
  await shot('timeline-past');
  await page.locator(byId('to-head')).click();
  await page.locator(byId('to-head')).waitFor({ state: 'detached' });

  // Keyboard: ? for help, Esc closes, space plays and pauses, → steps.
  await page.locator('h1').click();
  await page.keyboard.press('?');
  await page.locator(byId('help')).waitFor();
  await shot('keyboard-help');
  await page.keyboard.press('Escape');
  await page.locator(byId('help')).waitFor({ state: 'detached' });
  await page.keyboard.press(' ');
  assert.equal(await playing(), true);
  await page.keyboard.press(' ');
  assert.equal(await playing(), false);
  const before = Number(await page.locator(byId('timeline-position')).getAttribute('data-end'));
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="timeline-position"]').dataset.end) > n,
    before,
  );
});

test('export the log and import it: the same state', async () => {
  await pause();
  const live = await rows();
  const batches = await page.locator(byId('timeline-position')).getAttribute('data-end');
  const download = page.waitForEvent('download');
  await page.locator(byId('export-log')).click();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'leasehold-')), (await download).suggestedFilename());
  await (await download).saveAs(file);
  assert.ok(fs.statSync(file).size > 8);
  assert.match(path.basename(file), /^leasehold-ps45-seed3-\d+\.lhlog$/);

  await page.locator(byId('import-log')).setInputFiles(file);
  await page.locator(`${byId('run-source')}[data-mode="replay"]`).waitFor();
  assert.equal(await page.locator(byId('timeline-position')).getAttribute('data-end'), batches);
  assert.deepEqual(await rows(), live);
  assert.equal(await page.locator(byId('invariant-status')).getAttribute('data-violations'), '0');
  await shot('replay');

  // A file that is not a log is refused with a message, and nothing else changes.
  const bad = path.join(path.dirname(file), 'not-a-log.lhlog');
  fs.writeFileSync(bad, 'hello');
  await page.locator(byId('import-log')).setInputFiles(bad);
  await page.locator(byId('notice')).waitFor();
  assert.match(await page.locator(byId('notice')).textContent(), /not a leasehold log/);
  assert.deepEqual(await rows(), live);
});

test('a log written by a service that embeds the driver opens and replays; a torn one too; a corrupt one is named', async () => {
  const file = embedLog();
  const bytes = fs.readFileSync(file);
  const records = frames(bytes);
  assert.ok(records.length >= 4, `${records.length} records`);
  await page.locator(byId('import-log')).setInputFiles(file);
  await page.waitForFunction(() => document.querySelector('[data-testid="run-source"]').textContent.includes('embed.lhlog'));
  assert.equal(await page.locator(byId('run-source')).getAttribute('data-mode'), 'replay');
  assert.equal(Number(await page.locator(byId('timeline-position')).getAttribute('data-end')), records.length);
  // Its leases: postgresql held by postgresql/0, pinned by machine-7 for its upgrade;
  // mysql's units were elected and stepped down.
  const pg = 'application-leadership/model-1/postgresql';
  const mysql = 'application-leadership/model-1/mysql';
  assert.deepEqual(await rowOf(pg), { holder: 'postgresql/0', token: await row(pg).getAttribute('data-token'), pinned: true });
  assert.equal(await row(pg).locator(byId('pin-badge')).getAttribute('data-entity'), 'machine-7');
  assert.equal(await rowOf(mysql), null, 'free at the end');
  assert.ok((await events('claimed', mysql)) >= 1);
  assert.ok((await events('revoked', mysql)) >= 1);
  assert.equal(await page.locator(byId('invariant-status')).getAttribute('data-violations'), '0');
  // The driver's first batch, decoded: it starts at seq 1 with the driver's own time.
  await page.locator(`${byId('batch-item')}[data-seq="1"]`).click();
  await page.locator(`${byId('batch-detail')}[data-seq="1"]`).waitFor();
  const kinds = await page.locator(byId('batch-op')).evaluateAll((els) => els.map((el) => el.dataset.kind));
  assert.ok(kinds.includes('claim'), JSON.stringify(kinds));
  assert.match(await page.locator(byId('batch-detail')).textContent(), /claim application-leadership\/model-1\/\w+ by \w+\/\d/);
  await page.keyboard.press('Escape');
  const replayed = await rows();

  // Cut short, as a crash mid-append leaves it: the whole records replay, and the page says so.
  const last = records.at(-1);
  const torn = path.join(path.dirname(file), 'torn.lhlog');
  fs.writeFileSync(torn, bytes.subarray(0, bytes.length - 3));
  await page.locator(byId('import-log')).setInputFiles(torn);
  await page.locator(byId('notice')).waitFor();
  assert.match(
    await page.locator(byId('notice')).textContent(),
    new RegExp(`torn\\.lhlog: torn tail: record ${records.length - 1} at byte offset ${last.offset} .*were imported`),
  );
  assert.equal(Number(await page.locator(byId('timeline-position')).getAttribute('data-end')), records.length - 1);
  await page.keyboard.press('Escape');

  // Damaged in the middle: refused, naming the record and its offset; nothing changes.
  const corrupt = path.join(path.dirname(file), 'corrupt.lhlog');
  const damaged = Buffer.from(bytes);
  damaged[records[1].offset + records[1].header] ^= 0xff;
  fs.writeFileSync(corrupt, damaged);
  const before = await rows();
  await page.locator(byId('import-log')).setInputFiles(corrupt);
  await page.locator(byId('notice')).waitFor();
  assert.match(
    await page.locator(byId('notice')).textContent(),
    new RegExp(`corrupt\\.lhlog: record 1 at byte offset ${records[1].offset} is corrupt`),
  );
  assert.match(await page.locator(byId('run-source')).textContent(), /torn\.lhlog/);
  assert.deepEqual(await rows(), before);
  assert.ok(replayed.length >= 1);
  await page.keyboard.press('Escape');
});

test('figures: the page’s cost per tick with 10,000 leases at 1×, the .wasm size', async () => {
  const wasm = fs.readdirSync(DIST).find((f) => f.endsWith('.wasm'));
  const bytes = fs.readFileSync(path.join(DIST, wasm));
  const gz = zlib.gzipSync(bytes, { level: 9 }).length;
  console.log(`# figure: dashboard .wasm ${bytes.length} bytes, ${gz} bytes gzipped`);
  assert.ok(gz <= WASM_GZ_BUDGET, `${gz} bytes gzipped is over 480 KB`);

  await open('?scenario=ps45&seed=1&leases=10000');
  await setSpeed(1);
  // Chromium's own account of the main thread (every task: script, style, layout, paint).
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const taskSeconds = async () =>
    (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value;
  const tasksBefore = await taskSeconds();
  await play();
  // The first 10 s are the joins (30,000 holders claim); 30 s on, the renewals start.
  await page.waitForTimeout(40_000);
  const mainThread = ((await taskSeconds()) - tasksBefore) * 1000 / 400;
  const cost = page.locator(byId('tick-cost'));
  const recent = Number(await cost.getAttribute('data-ms'));
  const overall = Number(await cost.getAttribute('data-overall-ms'));
  const ticks = Number(await cost.getAttribute('data-ticks'));
  const sim = await simMs();
  await pause();
  console.log(
    `# figure: 10,000 leases at 1×: ${overall.toFixed(2)} ms per 100 ms tick on the main thread ` +
      `(mean of ${ticks} ticks; last 50 ticks ${recent.toFixed(2)} ms); ${(sim / 1000).toFixed(1)} s simulated in 40 s; ` +
      `Chromium's main-thread task time, everything included: ${mainThread.toFixed(2)} ms per 100 ms`,
  );
  assert.ok(ticks >= 300, `${ticks} ticks in 40 s`);
  assert.ok(sim >= 36_000, `the simulation kept up with 1× (${sim} ms in 40 s)`);
  assert.ok(overall <= TICK_BUDGET_MS, `${overall} ms per tick is over ${TICK_BUDGET_MS} ms`);
  assert.ok(
    mainThread <= CHROMIUM_BUDGET_MS,
    `Chromium counts ${mainThread.toFixed(2)} ms of main-thread tasks per 100 ms, over ${CHROMIUM_BUDGET_MS} ms`,
  );
  assert.ok((await page.locator(byId('lease-row')).count()) <= 40, 'only the rows on screen are drawn');
  await shot('dashboard-10k');
  // The largest recent batch, decoded: operations and answers.
  const sizes = await page.locator(byId('batch-item')).evaluateAll((els) => els.map((el) => Number(el.dataset.ops)));
  await page.locator(byId('batch-item')).nth(sizes.indexOf(Math.max(...sizes))).click();
  await page.locator(byId('batch-detail')).waitFor();
  await shot('batch-detail');
  await page.keyboard.press('Escape');
});

test('100,000 leases: only the rows on screen are drawn', async () => {
  await open('?scenario=ps45&seed=1&leases=100000');
  await setSpeed(1);
  await play();
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="lease-count"]').dataset.count) > 20_000,
    null,
    { timeout: 60_000 },
  );
  await page.locator('.tbody').evaluate((el) => {
    el.scrollTop = 10_000 * 28;
    el.dispatchEvent(new Event('scroll'));
  });
  await page.waitForTimeout(500);
  const cost = Number(await page.locator(byId('tick-cost')).getAttribute('data-ms'));
  await pause();
  const drawn = await page.locator(byId('lease-row')).count();
  console.log(`# figure: 100,000 leases at 1× while they join: ${cost.toFixed(2)} ms per tick, ${drawn} rows drawn`);
  assert.ok(drawn > 0 && drawn <= 40, `${drawn} rows drawn`);
});

// ---- guided chapters ----------------------------------------------------------------

const CHAPTERS = [
  '1. What a lease promises',
  '2. Why batch',
  '3. Overload without a leadership storm',
  '4. Freezing leadership for an upgrade',
  '5. Two leaders',
  '6. The thundering herd',
];
// The longest a story may wait for one cue, wall-clock.
const CUE_TIMEOUT_MS = 90_000;

/** The chapter's step counter: its step (from 1) and how many steps it has. */
async function chapterStep(p = page) {
  const el = p.locator(byId('chapter-step'));
  return { step: Number(await el.getAttribute('data-step')), steps: Number(await el.getAttribute('data-steps')) };
}

/** Opens chapter `n` by its link, in a freshly loaded page. */
async function openChapter(n, p = page) {
  await p.goto('about:blank');
  await p.goto(`${base}/#/learn/${n}`);
  await p.locator(byId('chapter-title')).waitFor();
}

/** Waits until the story offers Continue. While it waits, Continue is disabled and
 * the panel says what for. */
async function whenContinueOffered(p = page) {
  const state = await p.evaluate(() => ({
    disabled: document.querySelector('[data-testid="chapter-next"]').disabled,
    waiting: (document.querySelector('[data-testid="chapter-waiting"]')?.textContent || '').startsWith('waiting for:'),
  }));
  assert.equal(state.disabled, state.waiting, JSON.stringify(state));
  await p.locator(`${byId('chapter-next')}:not([disabled])`).waitFor({ timeout: CUE_TIMEOUT_MS });
}

/** Continue (by click, or with the → key) from step `from`; waits for the next one. */
async function continueFrom(from, { key = false } = {}, p = page) {
  if (key) await p.keyboard.press('ArrowRight');
  else await p.locator(byId('chapter-next')).click();
  await p.waitForFunction(
    (s) => Number(document.querySelector('[data-testid="chapter-step"]')?.dataset.step) !== s,
    from,
  );
}

async function sideRow(stat, p = page) {
  const row = p.locator(`${byId('side-by-side')} [data-stat="${stat}"]`);
  return { main: Number(await row.getAttribute('data-main')), beside: Number(await row.getAttribute('data-beside')) };
}

test('chapters: a link in the header opens one; → and ← continue and go back; leave returns to the dashboard', async () => {
  await open('?scenario=ps45&seed=3&leases=20');
  assert.equal(await page.locator(byId('chapter')).count(), 0);
  await page.locator(`${byId('learn-menu')} summary`).click();
  assert.equal(await page.locator(byId('learn-link')).count(), 6);
  await page.locator(`${byId('learn-link')}[data-chapter="1"]`).click();
  await page.locator(byId('chapter-title')).waitFor();
  assert.equal(await page.locator(byId('chapter-title')).textContent(), CHAPTERS[0]);
  assert.match(page.url(), /#\/learn\/1$/);
  assert.deepEqual(await chapterStep(), { step: 1, steps: 5 });
  assert.ok(await page.locator(byId('chapter-back')).isDisabled(), 'no Back on the first step');
  // The story holds the controls until its last step.
  assert.ok(await page.locator(byId('load-up')).isDisabled());
  const first = await page.locator(byId('chapter-text')).textContent();

  // → continues once the cue is met; ← and Back show the previous step again.
  await page.locator('h1').click();
  await whenContinueOffered();
  await continueFrom(1, { key: true });
  assert.equal((await chapterStep()).step, 2);
  const second = await page.locator(byId('chapter-text')).textContent();
  assert.notEqual(second, first);
  assert.match(await page.locator(byId('chapter-waiting')).textContent(), /waiting for: the clock to reach 40 s/);
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction(() => document.querySelector('[data-testid="chapter-step"]').dataset.step === '1');
  assert.equal(await page.locator(byId('chapter-text')).textContent(), first);
  await continueFrom(1, { key: true });
  assert.equal(await page.locator(byId('chapter-text')).textContent(), second);
  await page.locator(byId('chapter-back')).click();
  await page.waitForFunction(() => document.querySelector('[data-testid="chapter-step"]').dataset.step === '1');
  await continueFrom(1);
  assert.equal((await chapterStep()).step, 2);

  // A link to a chapter that does not exist says so.
  await page.goto(`${base}/#/learn/9`);
  await page.locator(byId('notice')).waitFor();
  assert.match(await page.locator(byId('notice')).textContent(), /no chapter 9/);
  await page.keyboard.press('Escape');

  // Leaving keeps the chapter's run on the dashboard, paused, and its link in the URL.
  await page.goto(`${base}/#/learn/1`);
  await page.locator(byId('chapter-leave')).click();
  await page.locator(byId('chapter')).waitFor({ state: 'detached' });
  assert.doesNotMatch(page.url(), /#/);
  assert.match(page.url(), /scenario=ps45&seed=11/);
  assert.equal(await playing(), false);
  assert.ok(!(await page.locator(byId('load-up')).isDisabled()), 'the controls are the operator’s again');
  // The browser's back button returns to the chapter.
  await page.goBack();
  await page.locator(byId('chapter-title')).waitFor();
  assert.deepEqual(await chapterStep(), { step: 1, steps: 5 });
});

for (const [i, title] of CHAPTERS.entries()) {
  const n = i + 1;
  test(`chapter ${n}, "${title}", walks from its first step to its last`, async () => {
    const t0 = Date.now();
    await openChapter(n);
    assert.equal(await page.locator(byId('chapter-title')).textContent(), title);
    const { steps } = await chapterStep();
    assert.ok(steps >= 3, `${steps} steps`);
    const seen = [(await chapterStep()).step];
    const texts = [await page.locator(byId('chapter-text')).textContent()];
    assert.ok(texts[0].length > 40);
    while (seen.at(-1) < steps) {
      await whenContinueOffered();
      assert.equal(await playing(), false, 'the story pauses at its cue');
      if (n === 2 && seen.at(-1) === 3) {
        // "Compare the entries per second…": the two runs, 20 s in.
        await page.evaluate(() => window.scrollTo(0, 0));
        await shotOf('side-by-side', page.locator('.learn'));
      }
      await continueFrom(seen.at(-1));
      seen.push((await chapterStep()).step);
      texts.push(await page.locator(byId('chapter-text')).textContent());
      if (n === 1 && seen.at(-1) === 3) {
        // The leader crashed: its lease runs down while the rivals wait.
        await page.waitForFunction(() => Number(document.querySelector('[data-testid="sim-time"]').dataset.ms) >= 75_000);
        await shot('chapter');
      }
    }
    assert.deepEqual(seen, Array.from({ length: steps }, (_, k) => k + 1), 'data-step goes 1, 2, … up to data-steps');
    assert.equal(new Set(texts).size, steps, 'every step has its own narration');
    // "Try it yourself": the controls are the reader's.
    assert.match(await page.locator(byId('chapter-waiting')).textContent(), /the controls are yours/);
    assert.ok(!(await page.locator(byId('load-up')).isDisabled()));
    assert.ok(!(await page.locator(byId('chapter-next')).isDisabled()));
    assert.equal(await page.locator(byId('invariant-status')).getAttribute('data-violations'), '0');

    if (n === 2) {
      // Side by side: the same load on a per-operation log and on a batched one.
      assert.equal(await page.locator(byId('side-main')).getAttribute('data-mode'), 'batched');
      assert.equal(await page.locator(byId('side-beside')).getAttribute('data-mode'), 'per-op');
      const eps = await sideRow('entries_per_second');
      const fsyncs = await sideRow('log_entries');
      const p99 = await sideRow('p99_latency_ms');
      console.log(
        `# chapter 2 at ${(await simMs()) / 1000} s: entries/s batched ${eps.main.toFixed(1)}, per-op ${eps.beside.toFixed(1)}; ` +
          `fsyncs ${fsyncs.main} vs ${fsyncs.beside}; p99 ${p99.main} ms vs ${p99.beside} ms`,
      );
      assert.ok(eps.main > 0 && eps.main <= 12, `batched: ${eps.main} entries/s`);
      assert.ok(eps.beside > 20 * eps.main, `per-op ${eps.beside} entries/s is not far above batched ${eps.main}`);
      assert.ok(p99.beside > p99.main);
    }

    // Continue at the end: the next chapter, or after the last one the dashboard.
    await continueFrom(steps);
    if (n < CHAPTERS.length) {
      await page.waitForFunction((t) => document.querySelector('[data-testid="chapter-title"]')?.textContent === t, CHAPTERS[n]);
      assert.equal((await chapterStep()).step, 1);
      assert.match(page.url(), new RegExp(`#/learn/${n + 1}$`));
    } else {
      await page.locator(byId('chapter')).waitFor({ state: 'detached' });
      assert.doesNotMatch(page.url(), /#/);
      assert.equal(await page.locator(`${byId('run-source')}[data-mode="live"]`).count(), 1);
    }
    console.log(`# chapter ${n}: ${steps} steps walked in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
}
