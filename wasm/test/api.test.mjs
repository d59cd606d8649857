// The JavaScript API as a JavaScript program sees it: the package built for Node by
// scripts/wasm.sh, driven through a whole scenario, then fed every kind of bad input.
// Run: node --test wasm/test/
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Engine,
  Simulation,
  decodeBatch,
  encodeBatch,
  scenarios,
} from "../pkg-node/leasehold_wasm.js";

const key = { namespace: "application-leadership", model: "model-1", lease: "mysql" };
const claim = (holder, durationMs = 1_000) => ({ ...key, holder, durationMs });

/** The answer to `ticket` among `outputs`. */
function answerOf(outputs, ticket) {
  const answer = outputs.find((o) => o.kind === "answer" && o.ticket === ticket);
  assert.ok(answer, `no answer for ticket ${ticket} in ${JSON.stringify(outputs)}`);
  return answer;
}

/** Asserts that `f` throws an `Error` whose message matches every pattern. */
function throwsNaming(f, ...patterns) {
  let error;
  try {
    f();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, `expected an Error, got ${error}`);
  for (const p of patterns) assert.match(error.message, p);
  return error.message;
}

/** A seeded generator of whole numbers below `n` (xorshift32). */
function xorshift(seed, n) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** Asserts that `engine` still takes requests and answers them. */
function stillWorks(engine, now) {
  const holder = `probe-${now}`;
  const ticket = engine.claim({ ...key, lease: holder, holder, durationMs: 10 }, now);
  const answer = answerOf(engine.advance(now + 1_000), ticket);
  assert.equal(answer.ok, true, JSON.stringify(answer));
}

test("claim, rival claim, pin across expiry, unpin, snapshot and restore", () => {
  const engine = new Engine({ batchIntervalMs: 100 });
  const first = engine.claim(claim("mysql/0"), 0);
  const rival = engine.claim(claim("mysql/1"), 20);
  assert.equal(typeof first, "number");

  let out = engine.advance(100);
  const batch = out.find((o) => o.kind === "batch");
  assert.ok(batch.bytes instanceof Uint8Array);
  assert.equal(batch.seq, 1);
  const decoded = decodeBatch(batch.bytes);
  assert.equal(decoded.seq, 1);
  // Time rides in the batch; the two claims of one lease became one operation.
  assert.deepEqual(decoded.ops, [
    { kind: "setTime", oldMs: 0, newMs: 100 },
    { kind: "claim", ...claim("mysql/0") },
  ]);
  assert.equal(batch.ops, 2);

  const won = answerOf(out, first);
  assert.equal(won.ok, true);
  assert.equal(won.reachedLog, true);
  const token = won.token;
  assert.equal(typeof token, "number");
  const lost = answerOf(out, rival);
  assert.deepEqual(
    { ok: lost.ok, reachedLog: lost.reachedLog, error: lost.error, holder: lost.holder },
    { ok: false, reachedLog: true, error: "held", holder: "mysql/0" },
  );
  assert.match(lost.message, /held by mysql\/0/);
  const claimed = out.find((o) => o.kind === "event");
  assert.deepEqual(
    { event: claimed.event, holder: claimed.holder, token: claimed.token, lease: claimed.lease },
    { event: "claimed", holder: "mysql/0", token, lease: "mysql" },
  );

  // Pinned, the lease outlives its second of life by far.
  const pin = engine.pin({ ...key, entity: "machine-7", reason: "series upgrade" }, 200);
  out = engine.advance(5_000);
  assert.equal(answerOf(out, pin).ok, true);
  assert.ok(out.some((o) => o.kind === "event" && o.event === "pinned" && o.entity === "machine-7"));
  let leases = engine.leases(5_000);
  assert.equal(leases.length, 1);
  assert.equal(leases[0].holder, "mysql/0");
  assert.deepEqual(leases[0].pinnedBy, ["machine-7"]);
  assert.equal(leases[0].token, token);

  // The snapshot, taken while pinned, restores the same state.
  const snapshot = engine.snapshot();
  assert.ok(snapshot instanceof Uint8Array);
  const restored = Engine.restore(snapshot, { nowMs: 50 });
  assert.deepEqual(
    restored.leases(50).map((l) => [l.holder, l.token, l.pinnedBy]),
    [["mysql/0", token, ["machine-7"]]],
  );
  assert.deepEqual(restored.snapshot(), snapshot, "restore then snapshot gives the same bytes");

  // Unpinned, it expires at the next batch, and the holder is told it was deposed.
  const unpin = engine.unpin({ ...key, entity: "machine-7" }, 5_100);
  out = engine.advance(6_500);
  assert.equal(answerOf(out, unpin).ok, true);
  const expired = out.find((o) => o.kind === "event" && o.event === "expired");
  assert.ok(expired, JSON.stringify(out));
  assert.equal(expired.holder, "mysql/0");
  assert.equal(expired.token, token);
  assert.deepEqual(engine.leases(6_500), []);

  // The rival now wins, with a larger fencing token.
  const again = engine.claim(claim("mysql/1"), 6_600);
  const next = answerOf(engine.advance(7_000), again);
  assert.equal(next.ok, true);
  assert.ok(next.token > token);

  // The restored engine goes on from its own state.
  const revoke = restored.revoke({ ...key, holder: "mysql/0" }, 100);
  assert.equal(answerOf(restored.advance(300), revoke).ok, true);

  // Decoding garbage throws and says why.
  throwsNaming(() => decodeBatch(new Uint8Array([0xde, 0xad, 0xbe, 0xef])), /^decodeBatch: bad batch: /);

  const metrics = engine.metrics();
  assert.deepEqual(
    metrics.lanes.map((l) => l.name),
    ["singular", "extend", "admin", "claim"],
  );
  assert.ok(metrics.batches >= 3);
  assert.ok(metrics.leadershipChanges >= 1);
});

test("extend and handover", () => {
  const engine = new Engine();
  const c = engine.claim(claim("a", 1_000), 0);
  assert.equal(answerOf(engine.advance(100), c).ok, true);
  const e = engine.extend(claim("a", 60_000), 200);
  assert.equal(answerOf(engine.advance(300), e).ok, true);
  const { expiresMs } = engine.leases(300)[0];
  assert.ok(expiresMs > 60_200 && expiresMs <= 60_300, `${expiresMs}`);
  const h = engine.handover({ ...key, from: "a", to: "b", durationMs: 30_000 }, 400);
  const out = engine.advance(500);
  assert.equal(answerOf(out, h).ok, true);
  const handed = out.find((o) => o.kind === "event" && o.event === "handed-over");
  assert.deepEqual([handed.from, handed.holder], ["a", "b"]);
});

test("wrong types, missing fields and negative durations throw, naming the field", () => {
  const engine = new Engine();
  const cases = [
    [() => engine.claim({ ...key, holder: 7, durationMs: 5 }, 0), /^claim: `holder`: .*expected a string/],
    [() => engine.claim({ ...key, holder: "a", durationMs: "5" }, 0), /^claim: `durationMs`: invalid type/],
    [() => engine.claim({ ...key, holder: "a", durationMs: -5 }, 0), /^claim: `durationMs`: invalid value/],
    [() => engine.claim({ ...key, holder: "a", durationMs: 0 }, 0), /^claim: `durationMs` must be at least 1 ms/],
    [() => engine.claim({ ...key, holder: "a" }, 0), /^claim: missing field `durationMs`/],
    [() => engine.claim({ namespace: "n", model: "m", holder: "a", durationMs: 5 }, 0), /missing field `lease`/],
    [() => engine.claim({ ...key, holder: "", durationMs: 5 }, 0), /`holder` must not be empty/],
    [() => engine.claim({ ...key, holder: "a", durationMs: 5, extra: 1 }, 0), /unknown field `extra`/],
    [() => engine.claim({ ...key, holder: undefined, durationMs: 5 }, 0), /missing field `holder`/],
    [() => engine.claim("mysql/0", 0), /^claim: the request must be an object, got a string/],
    [() => engine.claim(null, 0), /must be an object, got null/],
    [() => engine.claim(claim("a"), "now"), /^claim: `nowMs`: invalid type/],
    [() => engine.claim(claim("a")), /^claim: `nowMs` is missing/],
    [() => engine.claim(claim("a"), -1), /`nowMs`: invalid value/],
    [() => engine.extend({ ...key, holder: "a", durationMs: -1 }, 0), /^extend: `durationMs`/],
    [() => engine.revoke({ ...key }, 0), /^revoke: missing field `holder`/],
    [() => engine.pin({ ...key, entity: "e", untilMs: -10 }, 0), /^pin: `untilMs`/],
    [() => engine.pin({ ...key, entity: "e", reason: 5 }, 0), /^pin: `reason`/],
    [() => engine.unpin({ ...key, holder: "e" }, 0), /^unpin: unknown field `holder`/],
    [() => engine.handover({ ...key, from: "a", to: "a", durationMs: 5 }, 0), /`to` is the same holder as `from`/],
    [() => engine.handover({ ...key, from: "a", to: "b", durationMs: -5 }, 0), /^handover: `durationMs`/],
    [() => engine.advance(Number.NaN), /^advance: `nowMs`/],
    [() => engine.advance(), /^advance: `nowMs` is missing/],
    [() => engine.leases("x"), /^leases: `nowMs`/],
  ];
  let now = 0;
  for (const [call, pattern] of cases) {
    throwsNaming(call, pattern);
    stillWorks(engine, (now += 1_000));
  }
  // A getter that throws: its own exception comes through, and the engine is unharmed.
  const hostile = { ...key, durationMs: 5 };
  Object.defineProperty(hostile, "holder", { enumerable: true, get: () => { throw new Error("boom"); } });
  throwsNaming(() => engine.claim(hostile, 0), /boom/);
  stillWorks(engine, (now += 1_000));
});

test("unknown or impossible options throw, naming the field", () => {
  throwsNaming(() => new Engine({ batchIntrvalMs: 10 }), /^new Engine: unknown field `batchIntrvalMs`/);
  throwsNaming(() => new Engine({ batchIntervalMs: 0 }), /`batchIntervalMs` must be at least 1 ms/);
  throwsNaming(() => new Engine({ clockIntervalMs: 10 }), /`clockIntervalMs` must not be shorter than batchIntervalMs/);
  throwsNaming(() => new Engine({ maxBatchOps: 70_000 }), /`maxBatchOps` must be between 1 and 65,535/);
  throwsNaming(() => new Engine({ maxInFlight: 0 }), /`maxInFlight` must be at least 1/);
  throwsNaming(() => new Engine({ queueCapacity: 2.5 }), /`queueCapacity`: invalid value: floating point `2.5`, expected a whole number/);
  throwsNaming(() => new Engine({ claimDeadlineMs: 9_000 }), /`claimDeadlineMs` must not be longer than extendDeadlineMs/);
  throwsNaming(() => new Engine({ eager: 1 }), /`eager`: invalid type: integer `1`, expected a boolean/);
  // Numbers as JavaScript writes them; a missing value and odd values by their kind.
  throwsNaming(() => new Engine({ batchIntervalMs: 1e300 }), /`batchIntervalMs`: invalid value: floating point `1e\+300`, expected a number of milliseconds/);
  throwsNaming(() => new Engine({ batchIntervalMs: -5 }), /`batchIntervalMs`: invalid value: integer `-5`, expected a number of milliseconds/);
  throwsNaming(() => new Engine({ batchIntervalMs: "5" }), /`batchIntervalMs`: invalid type: string "5", expected a number of milliseconds/);
  throwsNaming(() => new Engine().advance(null), /^advance: `nowMs`: invalid type: null or undefined, expected a number/);
  throwsNaming(() => new Engine({ eager: { on: true } }), /`eager`: invalid type: map, expected a boolean/);
  throwsNaming(() => new Engine({ eager: [true] }), /`eager`: invalid type: sequence, expected a boolean/);
  throwsNaming(() => new Engine({ eager: () => true }), /`eager`: invalid type: a function, expected a boolean/);
  throwsNaming(() => new Engine({ maxInFlight: 5n }), /`maxInFlight`: invalid type: a bigint/);
  throwsNaming(() => new Engine("fast"), /^new Engine: options must be an object/);
  const engine = new Engine({ eager: true, nowMs: 1_000 });
  const t = engine.claim(claim("a"), 1_000);
  assert.equal(answerOf(engine.advance(1_000), t).ok, true, "eager: cut at once");
});

test("garbage bytes and truncated snapshots throw", () => {
  const engine = new Engine();
  engine.claim(claim("a"), 0);
  engine.advance(100);
  const snapshot = engine.snapshot();
  throwsNaming(() => Engine.restore(snapshot.subarray(0, snapshot.length - 2)), /^Engine\.restore: bad snapshot: input is truncated/);
  throwsNaming(() => Engine.restore(new Uint8Array([0x53, 9, 0])), /^Engine\.restore: bad snapshot: format version 9/);
  throwsNaming(() => Engine.restore(new Uint8Array(0)), /truncated/);
  throwsNaming(() => Engine.restore("bytes"), /^Engine\.restore: `bytes` must be a Uint8Array, got a string/);
  throwsNaming(() => Engine.restore(snapshot, { speed: 2 }), /unknown field `speed`/);
  throwsNaming(() => decodeBatch(snapshot), /^decodeBatch: bad batch: expected a batch/);
  throwsNaming(() => decodeBatch([1, 2]), /`bytes` must be a Uint8Array, got an array/);
  // Random garbage never traps the module.
  const random = xorshift(42, 256);
  for (let i = 0; i < 300; i++) {
    const bytes = Uint8Array.from({ length: i % 40 }, random);
    if (i % 2) bytes[0] = 0x42;
    if (i % 3) bytes[1] = 1;
    try {
      decodeBatch(bytes);
    } catch (e) {
      assert.match(e.message, /^decodeBatch: bad batch: /);
    }
    try {
      Engine.restore(bytes);
    } catch (e) {
      assert.match(e.message, /^Engine\.restore: bad snapshot: /);
    }
  }
  stillWorks(engine, 1_000);
  assert.equal(Engine.restore(snapshot).leases(0).length, 1);
});

test("batches encode and decode; bad ones throw", () => {
  const batch = {
    seq: 7,
    ops: [
      { kind: "setTime", oldMs: 0, newMs: 100 },
      { kind: "claim", ...claim("a", 5_000) },
      { kind: "extend", ...claim("a", 9_000) },
      { kind: "pin", ...key, entity: "m-7", untilMs: 90_000, reason: "upgrade" },
      { kind: "unpin", ...key, entity: "m-7" },
      { kind: "revoke", ...key, holder: "a" },
      { kind: "handover", ...key, from: "a", to: "b", durationMs: 10 },
    ],
  };
  assert.deepEqual(decodeBatch(encodeBatch(batch)), batch);
  throwsNaming(() => encodeBatch({ seq: 1, ops: [{ kind: "grab", ...key }] }), /^encodeBatch: ops\[0\]: `kind`: unknown variant `grab`, expected one of/);
  throwsNaming(() => encodeBatch({ seq: 1, ops: [{ kind: "claim", ...key, holder: "a" }] }), /ops\[0\]: missing field `durationMs`/);
  throwsNaming(() => encodeBatch({ seq: "1", ops: [] }), /^encodeBatch: `seq`/);
  throwsNaming(() => encodeBatch({ seq: 1 }), /missing field `ops`/);
  throwsNaming(() => encodeBatch({ seq: 1, ops: [], more: true }), /unknown field `more`/);
  throwsNaming(() => encodeBatch({ seq: 1, ops: [{ kind: "claim", ...claim("x".repeat(300)) }] }), /^encodeBatch: holder exceeds the limit of 256/);
});

test("simulations: presets, runs, stats and bad parameters", () => {
  const presets = scenarios();
  assert.deepEqual(
    presets.map((s) => s.name),
    ["ps45", "claimer-abuse", "staged-overload", "restart-herd", "series-upgrade", "fencing-race", "million"],
  );
  assert.deepEqual(Simulation.scenarios(), presets);
  const ps45 = presets[0];
  assert.equal(typeof ps45.description, "string");
  assert.deepEqual(
    [ps45.params.leases, ps45.params.durationMs, ps45.params.mode, ps45.params.eager],
    [2_184, 60_000, "batched", false],
  );

  const run = (seed) => {
    const sim = new Simulation({ scenario: "series-upgrade", seed, leases: 12, commitLatencyMs: 10 });
    sim.run(60_000);
    return sim;
  };
  const sim = run(3);
  const stats = sim.stats();
  assert.equal(stats.scenario, "series-upgrade");
  assert.equal(stats.simSeconds, 60);
  assert.equal(stats.invariantViolations, 0);
  assert.equal(stats.violation, null);
  assert.ok(stats.extendOk > 0 && stats.claimsOk > 0);
  for (const name of ["p99LatencyMs", "logEntries", "bytesPerOp", "staleWritesAcceptedWithoutTokens"]) {
    assert.equal(typeof stats[name], "number", name);
  }
  const leases = sim.leases();
  assert.ok(leases.length > 0);
  assert.ok(leases.every((l) => l.remainingMs >= 0 && typeof l.holder === "string"));
  assert.deepEqual(run(3).stats(), stats, "same seed, same run");

  throwsNaming(() => new Simulation({ scenario: "nope" }), /^new Simulation: unknown scenario `nope`/);
  throwsNaming(() => new Simulation({}), /missing field `scenario`/);
  throwsNaming(() => new Simulation({ scenario: "ps45", leasez: 5 }), /unknown parameter `leasez`/);
  throwsNaming(() => new Simulation({ scenario: "ps45", renewMs: 90_000 }), /parameter `renewMs` must be at least 1 and shorter than durationMs/);
  throwsNaming(() => new Simulation({ scenario: "ps45", leases: -3 }), /parameter `leases` must be a whole number/);
  throwsNaming(() => new Simulation({ scenario: "ps45", mode: "fast" }), /parameter `mode` must be `batched` or `per-op`/);
  throwsNaming(() => new Simulation({ scenario: "ps45", units: {} }), /`units` must be a number, a string or a boolean/);
  throwsNaming(() => sim.run(-1), /^run: `ms`/);
  sim.run(1_000);
  assert.equal(sim.stats().simSeconds, 61, "still usable after a throw");
});

test("no input traps the module", () => {
  const next = xorshift(7, 2 ** 32);
  const rand = (n) => next() % n;
  const pick = (values) => values[rand(values.length)];
  const numbers = [0, 1, 5, 99.5, 1e3, 6e4, -1, -1e9, 2 ** 53 - 1, 2 ** 53, 2 ** 64, NaN, Infinity, -0];
  const anything = [...numbers, "", "x", "mysql/0", null, undefined, true, {}, [], 5n, new Uint8Array(3)];
  const names = ["", "a", "b", "x".repeat(300), "singular-controller", "application-leadership"];
  const field = () => (rand(4) ? pick(names) : pick(anything));
  const millis = () => (rand(3) ? pick(numbers) : pick(anything));
  const request = () => ({
    namespace: field(), model: field(), lease: field(), holder: field(), entity: field(),
    from: field(), to: field(), durationMs: millis(), untilMs: millis(), reason: field(),
  });
  const calls = ["claim", "extend", "revoke", "pin", "unpin", "handover"];
  const engine = new Engine({ eager: true });
  let snapshot = engine.snapshot();
  for (let i = 0; i < 3_000; i++) {
    const r = request();
    // Keep only the fields each call takes, most of the time.
    const keep = {
      claim: ["holder", "durationMs"], extend: ["holder", "durationMs"], revoke: ["holder"],
      pin: ["entity", "untilMs", "reason"], unpin: ["entity"], handover: ["from", "to", "durationMs"],
    };
    const call = pick(calls);
    const fields = ["namespace", "model", "lease", ...keep[call]];
    const input = rand(5) ? Object.fromEntries(fields.map((f) => [f, r[f]])) : r;
    try {
      switch (rand(8)) {
        case 0: engine.advance(millis()); break;
        case 1: engine.leases(millis()); break;
        case 2: snapshot = engine.snapshot(); break;
        case 3: Engine.restore(rand(2) ? snapshot.subarray(0, rand(snapshot.length + 1)) : snapshot, rand(2) ? { nowMs: millis() } : pick(anything)); break;
        case 4: decodeBatch(rand(2) ? pick(anything) : Uint8Array.from({ length: rand(30) }, () => rand(256))); break;
        case 5: encodeBatch({ seq: millis(), ops: [{ kind: pick([...calls, "setTime", "x"]), ...input, oldMs: millis(), newMs: millis() }] }); break;
        default: engine[call](input, millis());
      }
    } catch (e) {
      assert.ok(e instanceof Error, `${e}`);
      assert.ok(!(e instanceof WebAssembly.RuntimeError), `trapped: ${e.stack}`);
    }
  }
  engine.metrics();
  const now = 2 ** 52;
  const ticket = engine.claim({ ...key, lease: "after-fuzz", holder: "z", durationMs: 10 }, now);
  assert.equal(answerOf(engine.advance(now + 1_000), ticket).ok, true);
});

test("batches name their leases unless referToState is asked for", () => {
  const extendBatch = (options) => {
    const engine = new Engine({ batchIntervalMs: 100, ...options });
    engine.claim(claim("mysql/0", 60_000), 0);
    engine.advance(100);
    engine.extend(claim("mysql/0", 60_000), 150);
    return engine.advance(200).find((o) => o.kind === "batch");
  };
  const named = extendBatch({});
  assert.deepEqual(
    decodeBatch(named.bytes).ops.map((op) => op.kind),
    ["setTime", "extend"],
  );
  const byPlace = extendBatch({ referToState: true });
  assert.ok(byPlace.bytes.length < named.bytes.length, `${byPlace.bytes.length} ≥ ${named.bytes.length}`);
  throwsNaming(() => decodeBatch(byPlace.bytes), /^decodeBatch: bad batch: .*place in the state/);
});
