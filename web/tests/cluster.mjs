// A live leasehold cluster for the tests: `leaseholdd` processes on free loopback ports,
// each with its own temporary data directory, and the HTTP and WebSocket clients the
// tests drive them with. Plain Node 20 (no npm packages): `node:http` for the JSON API,
// and a small WebSocket client over an HTTP upgrade for `GET /v1/watch`.
//
//   const cluster = await startCluster({ token: 'secret' });
//   const answers = await claimMany(cluster.nodes[1].url, cluster.token, { count: 10_000 });
//   const stop = keepBusy(cluster.nodes[0].url, cluster.token, { leases: answers });
//   ...
//   await stop();
//   await cluster.stop();
//
// The binaries are in cargo's target directory (ROOT/target, or CARGO_TARGET_DIR):
// release/leaseholdd, built with `cargo build --release -p leasehold-server --bins` when
// missing; LEASEHOLDD overrides the path.

import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository's root. */
export const ROOT = path.resolve(HERE, '../..');
/** The `leaseholdd` the clusters run (LEASEHOLDD overrides it). */
export const LEASEHOLDD =
  process.env.LEASEHOLDD || path.resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target', 'release/leaseholdd');

/** How many lines of each node's stdout and stderr are kept for error messages. */
const TAIL_LINES = 40;

// One keep-alive agent for every request: claimMany's hundreds of concurrent requests
// reuse their connections instead of opening one per request.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** Builds the service's binaries once, if `leaseholdd` is missing. */
function ensureBinaries() {
  if (fs.existsSync(LEASEHOLDD)) return;
  console.error(`cluster.mjs: ${LEASEHOLDD} is missing; building it (cargo build --release -p leasehold-server --bins)`);
  execFileSync('cargo', ['build', '--release', '-p', 'leasehold-server', '--bins'], {
    cwd: ROOT,
    stdio: ['ignore', 2, 2],
  });
  if (!fs.existsSync(LEASEHOLDD)) throw new Error(`cargo build did not produce ${LEASEHOLDD}`);
}

/**
 * `count` free TCP ports on 127.0.0.1: listens on port 0 that many times at once (so
 * the ports are distinct), notes the ports, then closes the listeners.
 * @param {number} count
 * @returns {Promise<number[]>}
 */
export async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(() => resolve()))));
  }
}

/**
 * Polls `check` (sync or async) every `intervalMs` until it returns a truthy value, and
 * returns that value; throws after `timeoutMs`, naming `what` (and the last error
 * `check` threw, if any). An error `check` throws with `fatal: true` ends the wait at
 * once.
 * @template T
 * @param {() => T | Promise<T>} check
 * @param {{ timeoutMs?: number, intervalMs?: number, what?: string }} [options]
 * @returns {Promise<T>}
 */
export async function waitFor(check, { timeoutMs = 15_000, intervalMs = 100, what = 'a condition' } = {}) {
  const giveUp = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      if (e.fatal) throw e;
      lastError = e;
    }
    if (Date.now() >= giveUp) {
      const why = lastError ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * One HTTP request to a node: a POST of `body` as JSON, or a GET when `body` is
 * undefined, with `Authorization: Bearer TOKEN` when `token` is given. Answers the
 * status and the body (parsed when it is JSON, else the text). Throws when the node
 * cannot be reached or does not answer within `timeoutMs` (a request that failed on a
 * reused keep-alive connection the server had closed is sent once more).
 * @param {string} url the node's base URL, `http://127.0.0.1:PORT`
 * @param {string} path e.g. `/v1/claim`, `/v1/leases?namespace=live`
 * @param {object} [body]
 * @param {string} [token]
 * @param {{ timeoutMs?: number, method?: string }} [options]
 * @returns {Promise<{ status: number, body: any }>}
 */
export async function request(url, path, body, token, { timeoutMs = 10_000, method } = {}) {
  try {
    return await requestOnce(url, path, body, token, timeoutMs, method);
  } catch (e) {
    if (!e.reusedSocket) throw e;
    return requestOnce(url, path, body, token, timeoutMs, method);
  }
}

function requestOnce(url, path, body, token, timeoutMs, method) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = {};
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(new URL(path, url), {
      method: method || (payload ? 'POST' : 'GET'),
      headers,
      agent,
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url}${path} within ${timeoutMs} ms`)));
    req.on('error', (e) => {
      // Node's advice: a reused keep-alive socket may have been closed by the server
      // just as the request went out; the request never reached it.
      if (req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) e.reusedSocket = true;
      reject(e);
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode, body: parsed });
      });
    });
    req.end(payload);
  });
}

/**
 * `GET /v1/status` of one node (local, not forwarded): `{id, role, leader, term,
 * members, commitIndex, appliedIndex, globalTimeMs, leases}`, or null when the node is
 * unreachable, does not answer within `timeoutMs`, or refuses (e.g. 401 without the
 * token the cluster was started with).
 * @param {string} url
 * @param {string} [token]
 * @param {{ timeoutMs?: number }} [options]
 * @returns {Promise<object | null>}
 */
export async function status(url, token, { timeoutMs = 1_000 } = {}) {
  try {
    const r = await request(url, '/v1/status', undefined, token, { timeoutMs });
    return r.status === 200 && typeof r.body === 'object' ? r.body : null;
  } catch {
    return null;
  }
}

/** Keeps the last lines of a child's output stream. */
function tail(stream, lines) {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (text) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop();
    lines.push(...parts);
    if (lines.length > TAIL_LINES) lines.splice(0, lines.length - TAIL_LINES);
  });
}

/**
 * Starts a cluster of `nodes` `leaseholdd` processes on free loopback ports (taken all
 * at once), each with a fresh temporary data directory, and waits (up to `timeoutMs`)
 * until every node answers `GET /v1/status` and they agree on a leader.
 *
 * Node ids are 1..nodes; node 1 initialises the cluster. `token` (a string, or `true`
 * for a random one) is written to a file passed as `--token-file`; `dashboard` adds
 * `--dashboard`, `dashboardDir` adds `--dashboard-dir DIR`, `openReads` adds
 * `--open-reads`, and `extraArgs` go last on every node's command line.
 *
 * The answer: `nodes` (`{id, port, url, pid, alive, dataDir, output()}`; `pid` and
 * `alive` follow restarts; `output()` is the last lines of the node's stdout and
 * stderr), `token`, and the methods below. Each node's output tail is included in the
 * errors the cluster throws.
 * @param {{ nodes?: number, token?: string | boolean, extraArgs?: string[],
 *   dashboard?: boolean, dashboardDir?: string, openReads?: boolean,
 *   timeoutMs?: number, bin?: string }} [options]
 */
export async function startCluster({
  nodes = 3,
  token,
  extraArgs = [],
  dashboard = false,
  dashboardDir,
  openReads = false,
  timeoutMs = 30_000,
  bin = LEASEHOLDD,
} = {}) {
  if (bin === LEASEHOLDD) ensureBinaries();
  if (token === true) token = crypto.randomBytes(16).toString('hex');
  if (!token) token = undefined;
  const ports = await freePorts(nodes);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leasehold-cluster-'));
  const common = [];
  if (token) {
    const file = path.join(base, 'token');
    fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
    common.push('--token-file', file);
  }
  if (dashboard) common.push('--dashboard');
  if (dashboardDir) common.push('--dashboard-dir', dashboardDir);
  if (openReads) common.push('--open-reads');

  const members = ports.map((port, i) => {
    const id = i + 1;
    const dataDir = path.join(base, `node-${id}`);
    fs.mkdirSync(dataDir);
    const peers = ports.flatMap((p, j) => (j === i ? [] : ['--peer', `${j + 1}=127.0.0.1:${p}`]));
    const lines = [];
    return {
      id,
      port,
      url: `http://127.0.0.1:${port}`,
      pid: undefined,
      alive: false,
      dataDir,
      args: ['--id', String(id), '--listen', `127.0.0.1:${port}`, '--data', dataDir, ...peers, ...common, ...extraArgs],
      output: () => lines.join('\n'),
      lines,
      child: null,
      exited: null,
    };
  });

  const byId = (id) => {
    const node = members.find((n) => n.id === id);
    if (!node) throw new Error(`the cluster has no node ${id}`);
    return node;
  };

  const describe = (node) =>
    `node ${node.id} (${node.url}, ${node.alive ? `pid ${node.pid}` : 'not running'}):\n${node.output() || '(no output)'}`;
  const report = (message) =>
    Object.assign(new Error(`${message}\n${members.map(describe).join('\n')}`), { fatal: true, reported: true });

  function launch(node) {
    const child = spawn(bin, node.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    node.child = child;
    node.pid = child.pid;
    node.alive = true;
    node.lines.push(`--- started pid ${child.pid}: leaseholdd ${node.args.join(' ')}`);
    tail(child.stdout, node.lines);
    tail(child.stderr, node.lines);
    node.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        if (node.child === child) node.alive = false;
        node.lines.push(`--- pid ${child.pid} exited (${signal || `status ${code}`})`);
        resolve({ code, signal });
      });
      child.on('error', (e) => {
        if (node.child === child) node.alive = false;
        node.lines.push(`--- spawn failed: ${e.message}`);
        resolve({ code: null, signal: null, error: e });
      });
    });
  }

  // Never leave a node running when the test process ends without stop().
  const killAll = () => {
    for (const n of members) if (n.alive) n.child.kill('SIGKILL');
  };
  process.on('exit', killAll);

  /** The statuses of the running nodes (null for those that do not answer). */
  const statuses = () => Promise.all(members.map((n) => (n.alive ? status(n.url, token) : null)));

  /** The leader the running nodes agree on (all answer, all name it), or null. */
  async function agreedLeader(nodeList = members.filter((n) => n.alive)) {
    const all = await Promise.all(nodeList.map((n) => status(n.url, token)));
    if (all.some((s) => !s)) return null;
    const leader = all[0].leader;
    if (leader == null || !all.every((s) => s.leader === leader)) return null;
    const lead = all.find((s) => s.id === leader);
    return !lead || lead.role === 'leader' ? leader : null;
  }

  const cluster = {
    nodes: members,
    token,
    /** The temporary directory holding the data directories (and the token file). */
    dir: base,

    /** The node with this id. */
    node: byId,

    /**
     * The leader's id, from the running nodes' statuses: a node whose role is
     * `leader` (the highest term wins), else the leader most of them name; null when
     * none is known.
     * @returns {Promise<number | null>}
     */
    async leader() {
      const all = (await statuses()).filter(Boolean);
      const leading = all.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term);
      if (leading.length) return leading[0].id;
      const votes = new Map();
      for (const s of all) if (s.leader != null) votes.set(s.leader, (votes.get(s.leader) || 0) + 1);
      const best = [...votes].sort((a, b) => b[1] - a[1])[0];
      return best ? best[0] : null;
    },

    /**
     * Waits until every running node answers and they agree on a leader (other than
     * `not`, when given); answers its id.
     * @param {{ not?: number, timeoutMs?: number }} [options]
     * @returns {Promise<number>}
     */
    async waitForLeader({ not, timeoutMs: limit = 15_000 } = {}) {
      try {
        return await waitFor(
          async () => {
            const id = await agreedLeader();
            return id != null && id !== not ? id : null;
          },
          { timeoutMs: limit, what: `a leader${not != null ? ` other than node ${not}` : ''}` },
        );
      } catch (e) {
        throw e.reported ? e : report(e.message);
      }
    },

    /**
     * Waits until node `id`'s appliedIndex reaches the leader's commitIndex (read once,
     * when the wait begins); answers that node's status.
     * @param {number} id
     * @param {{ timeoutMs?: number }} [options]
     */
    async waitForCatchUp(id, { timeoutMs: limit = 15_000 } = {}) {
      const node = byId(id);
      try {
        const leaderId = await cluster.waitForLeader({ timeoutMs: limit });
        const target = await waitFor(async () => (await status(byId(leaderId).url, token))?.commitIndex, {
          timeoutMs: limit,
          what: `node ${leaderId}'s commit index`,
        });
        return await waitFor(
          async () => {
            const s = await status(node.url, token);
            return s && s.appliedIndex >= target ? s : null;
          },
          { timeoutMs: limit, what: `node ${id} to apply up to index ${target}` },
        );
      } catch (e) {
        throw e.reported ? e : report(e.message);
      }
    },

    /**
     * SIGKILLs node `id` and waits for its process to exit.
     * @param {number} id
     */
    async kill(id) {
      const node = byId(id);
      if (!node.alive) return;
      node.child.kill('SIGKILL');
      await node.exited;
    },

    /**
     * Starts node `id` again from its data directory, on its port (SIGKILLing it first
     * if it still runs), and waits until it answers `GET /v1/status`.
     * @param {number} id
     * @param {{ timeoutMs?: number }} [options]
     */
    async restart(id, { timeoutMs: limit = 15_000 } = {}) {
      const node = byId(id);
      await cluster.kill(id);
      launch(node);
      try {
        await waitFor(
          async () => {
            if (!node.alive) throw report(`node ${id} exited after its restart`);
            return status(node.url, token);
          },
          { timeoutMs: limit, intervalMs: 50, what: `node ${id} to answer GET /v1/status` },
        );
      } catch (e) {
        throw e.reported ? e : report(e.message);
      }
      return node;
    },

    /** SIGKILLs every node, waits for them to exit, and removes the data directories. */
    async stop() {
      process.off('exit', killAll);
      await Promise.all(members.map((n) => cluster.kill(n.id)));
      fs.rmSync(base, { recursive: true, force: true });
    },
  };

  for (const node of members) launch(node);
  try {
    await waitFor(
      async () => {
        const dead = members.find((n) => !n.alive);
        if (dead) throw report(`node ${dead.id} exited while the cluster started`);
        return agreedLeader();
      },
      { timeoutMs, what: 'every node to answer GET /v1/status and agree on a leader' },
    );
  } catch (e) {
    await cluster.stop();
    throw e.reported ? e : report(e.message);
  }
  return cluster;
}

/** The `i`th lease's default names. */
const defaultLease = (i) => `lease-${i}`;
const defaultHolder = (i) => `holder-${i}`;

/** The answers that are safe to retry: not applied (503). */
const RETRYABLE = new Set(['shed', 'aborted']);

/**
 * Claims `count` leases over HTTP (`POST /v1/claim`), at most `concurrency` requests at
 * once, retrying an answer of `shed` or `aborted` (503, not applied) up to `attempts`
 * times in all with a short sleep. Answers, in order of `i`, `{i, namespace, model,
 * lease, holder, status, body, attempts}` (the key fields make the answers usable as
 * keepBusy's `leases`); a request that could not be sent is answered status 0 with
 * `body: {ok: false, error: 'unreachable', message}`.
 * @param {string} url
 * @param {string} [token]
 * @param {{ count: number, namespace?: string, model?: string, durationMs?: number,
 *   holder?: (i: number) => string, lease?: (i: number) => string,
 *   concurrency?: number, attempts?: number, retryDelayMs?: number }} options
 */
export async function claimMany(
  url,
  token,
  {
    count,
    namespace = 'live',
    model = 'm',
    durationMs = 3_600_000,
    holder = defaultHolder,
    lease = defaultLease,
    concurrency = 500,
    attempts = 5,
    retryDelayMs = 100,
  },
) {
  const answers = new Array(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next++;
      const key = { namespace, model, lease: lease(i), holder: holder(i) };
      let answer;
      for (let attempt = 1; ; attempt++) {
        try {
          answer = await request(url, '/v1/claim', { ...key, durationMs }, token);
        } catch (e) {
          answer = { status: 0, body: { ok: false, reachedLog: false, error: 'unreachable', message: e.message } };
        }
        answer.attempts = attempt;
        if (attempt >= attempts || answer.status !== 503 || !RETRYABLE.has(answer.body?.error)) break;
        await sleep(retryDelayMs * attempt);
      }
      answers[i] = { i, ...key, ...answer };
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return answers;
}

/**
 * Keeps the cluster committing batches: every `everyMs` extends (`POST /v1/extend`,
 * same holder, `durationMs`) the next `perTick` of `leases` (`{namespace, model, lease,
 * holder}`, e.g. claimMany's answers), rolling through them, without waiting for the
 * answers (a tick is skipped while `maxInFlight` requests are out). `url` is a node's
 * URL, a list of them (taken in turn, one per tick), or a function answering one.
 * Failures (e.g. while a leader is killed) are counted, not thrown.
 *
 * Answers a function that stops the ticks, awaits the requests in flight and answers
 * the stats `{ticks, skipped, sent, ok, failed, errors: {kind: count}}` (also live as
 * its `.stats`).
 * @param {string | string[] | (() => string)} url
 * @param {string} [token]
 * @param {{ leases: Array<{namespace: string, model: string, lease: string, holder: string}>,
 *   everyMs?: number, perTick?: number, durationMs?: number, maxInFlight?: number }} options
 * @returns {(() => Promise<object>) & { stats: object }}
 */
export function keepBusy(
  url,
  token,
  { leases, everyMs = 100, perTick = 50, durationMs = 3_600_000, maxInFlight = 2_000 },
) {
  if (!leases?.length) throw new Error('keepBusy needs leases to extend');
  const pick = typeof url === 'function' ? url : Array.isArray(url) ? () => url[stats.ticks % url.length] : () => url;
  const stats = { ticks: 0, skipped: 0, sent: 0, ok: 0, failed: 0, errors: {} };
  const inFlight = new Set();
  let cursor = 0;
  const fail = (kind) => {
    stats.failed++;
    stats.errors[kind] = (stats.errors[kind] || 0) + 1;
  };
  function tick() {
    stats.ticks++;
    if (inFlight.size >= maxInFlight) {
      stats.skipped++;
      return;
    }
    const target = pick();
    for (let k = 0; k < Math.min(perTick, leases.length); k++) {
      const { namespace, model, lease, holder } = leases[cursor++ % leases.length];
      stats.sent++;
      const p = request(target, '/v1/extend', { namespace, model, lease, holder, durationMs }, token)
        .then(
          (r) => (r.body?.ok ? stats.ok++ : fail(r.body?.error || `http-${r.status}`)),
          () => fail('unreachable'),
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  }
  tick();
  const timer = setInterval(tick, everyMs);
  const stop = async () => {
    clearInterval(timer);
    while (inFlight.size) await Promise.allSettled([...inFlight]);
    return stats;
  };
  stop.stats = stats;
  return stop;
}

// ---------------------------------------------------------------------------------
// A minimal WebSocket client (RFC 6455) over node:http's upgrade: text messages in,
// fragmented or not; pings answered; close frames answered. Enough for /v1/watch.

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A client frame (masked, as RFC 6455 requires of clients). */
function clientFrame(opcode, payload = Buffer.alloc(0)) {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.alloc(head + 4 + len);
  frame[0] = 0x80 | opcode;
  if (len < 126) frame[1] = 0x80 | len;
  else if (len < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = crypto.randomBytes(4);
  mask.copy(frame, head);
  for (let i = 0; i < len; i++) frame[head + 4 + i] = payload[i] ^ mask[i & 3];
  return frame;
}

/**
 * Opens a WebSocket to `url` + `path` and calls `onText(text)` for each text message
 * (binary messages are skipped);
 * resolves to `{close(), closed}` once the upgrade succeeded (`closed` resolves to
 * `{code, reason}` when the connection ends), rejects when it is refused (with the
 * HTTP status and body) or does not answer within `timeoutMs`.
 */
function openWebSocket(url, path, token, onText, { timeoutMs = 5_000 } = {}) {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const headers = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': key,
    };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(new URL(path, url), { headers, agent: false });
    const timer = setTimeout(() => req.destroy(new Error(`no WebSocket upgrade from ${url}${path} within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => reject(new Error(`${url}${path} refused the WebSocket: ${res.statusCode} ${text}`)));
    });
    req.on('upgrade', (res, socket, head) => {
      clearTimeout(timer);
      const accept = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
      if (res.headers['sec-websocket-accept'] !== accept) {
        socket.destroy();
        reject(new Error(`${url}${path}: bad Sec-WebSocket-Accept`));
        return;
      }
      let buffer = head;
      let fragments = [];
      let messageOpcode = 0x1;
      let closeInfo = { code: 1006, reason: 'the connection ended without a close frame' };
      let resolveClosed;
      const closed = new Promise((r) => (resolveClosed = r));
      let sentClose = false;
      const sendClose = (code = 1000) => {
        if (sentClose || socket.destroyed) return;
        sentClose = true;
        const payload = Buffer.alloc(2);
        payload.writeUInt16BE(code);
        socket.write(clientFrame(0x8, payload));
      };
      const parse = () => {
        for (;;) {
          if (buffer.length < 2) return;
          const fin = (buffer[0] & 0x80) !== 0;
          const opcode = buffer[0] & 0x0f;
          const masked = (buffer[1] & 0x80) !== 0;
          let len = buffer[1] & 0x7f;
          let offset = 2;
          if (len === 126) {
            if (buffer.length < 4) return;
            len = buffer.readUInt16BE(2);
            offset = 4;
          } else if (len === 127) {
            if (buffer.length < 10) return;
            len = Number(buffer.readBigUInt64BE(2));
            offset = 10;
          }
          const maskAt = offset;
          if (masked) offset += 4;
          if (buffer.length < offset + len) return;
          const payload = Buffer.from(buffer.subarray(offset, offset + len));
          if (masked) for (let i = 0; i < len; i++) payload[i] ^= buffer[maskAt + (i & 3)];
          buffer = buffer.subarray(offset + len);
          if (opcode === 0x8) {
            closeInfo = {
              code: len >= 2 ? payload.readUInt16BE(0) : 1005,
              reason: len > 2 ? payload.subarray(2).toString('utf8') : '',
            };
            sendClose(1000);
            socket.end();
            return;
          } else if (opcode === 0x9) {
            if (!socket.destroyed) socket.write(clientFrame(0xa, payload));
          } else if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
            if (opcode !== 0x0) messageOpcode = opcode;
            fragments.push(payload);
            if (fin) {
              const message = Buffer.concat(fragments);
              fragments = [];
              // Binary messages (e.g. the state a watch with `state=true` sends) are
              // not for onText.
              if (messageOpcode === 0x1) onText(message.toString('utf8'));
            }
          }
        }
      };
      socket.on('data', (chunk) => {
        buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
        parse();
      });
      socket.on('error', () => {});
      socket.on('close', () => resolveClosed(closeInfo));
      resolve({
        closed,
        close() {
          sendClose(1000);
          socket.end();
          setTimeout(() => socket.destroy(), 500).unref();
          return closed;
        },
      });
      parse();
    });
    req.end();
  });
}

/**
 * Follows `GET /v1/watch?from=FROM` on one node and collects the `index` of each
 * `batch` message until one reaches `until` (or `timeoutMs` passes, or the server
 * closes the watch). Answers the indexes sorted ascending; the array also carries
 * (non-enumerable) `received` (the indexes in arrival order), `snapshot` (the index of
 * the `snapshot` message the node sent first, or null: a node sends one instead of the
 * replay when its ring of recent batches no longer reaches back to `from`, and then the
 * batches start after that index — a snapshot at or beyond `until` ends the watch),
 * `timedOut`, and `closed` (`{code, reason}` if the server closed the watch first).
 *
 * The WebSocket is driven directly over node:http's upgrade (no npm package, no
 * child process), with the token as `Authorization: Bearer`.
 * @param {string} url
 * @param {{ from?: number, until?: number, timeoutMs?: number, token?: string }} [options]
 * @returns {Promise<number[] & { received: number[], snapshot: number | null,
 *   timedOut: boolean, closed: {code: number, reason: string} | null }>}
 */
export async function watchBatches(url, { from, until = Infinity, timeoutMs = 10_000, token } = {}) {
  const received = [];
  let snapshot = null;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const path = from == null ? '/v1/watch' : `/v1/watch?from=${from}`;
  const ws = await openWebSocket(
    url,
    path,
    token,
    (text) => {
      let message;
      try {
        message = JSON.parse(text);
      } catch {
        return;
      }
      if (message.kind === 'snapshot') {
        snapshot = message.index;
        if (message.index >= until) done('until');
      } else if (message.kind === 'batch') {
        received.push(message.index);
        if (message.index >= until) done('until');
      }
    },
    { timeoutMs: Math.min(timeoutMs, 5_000) },
  );
  const timer = setTimeout(() => done('timeout'), timeoutMs);
  const how = await Promise.race([finished, ws.closed.then(() => 'closed')]);
  clearTimeout(timer);
  const closedBy = how === 'closed' ? await ws.closed : null;
  await ws.close();
  const sorted = [...received].sort((a, b) => a - b);
  Object.defineProperties(sorted, {
    received: { value: received },
    snapshot: { value: snapshot },
    timedOut: { value: how === 'timeout' },
    closed: { value: closedBy },
  });
  return sorted;
}
