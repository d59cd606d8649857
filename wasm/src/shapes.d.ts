/** Names a lease: its kind (namespace), its group (model) and the lease itself. */
export interface LeaseKey {
  /** e.g. `"application-leadership"`; leases in `"singular-controller"` take the priority lane. */
  namespace: string;
  /** The group of leases, e.g. a model UUID. */
  model: string;
  /** The lease within the group, e.g. an application name. */
  lease: string;
}

/** `claim(request, nowMs)`: grant a free lease to `holder` for `durationMs`. */
export interface ClaimRequest extends LeaseKey {
  holder: string;
  durationMs: number;
}

/** `extend(request, nowMs)`: keep a held lease for at least `durationMs` more. */
export interface ExtendRequest extends LeaseKey {
  holder: string;
  durationMs: number;
}

/** `revoke(request, nowMs)`: give a held lease up (its pins stay). */
export interface RevokeRequest extends LeaseKey {
  holder: string;
}

/** `pin(request, nowMs)`: keep a lease from expiring on behalf of `entity`. */
export interface PinRequest extends LeaseKey {
  entity: string;
  /** When the pin lapses by itself: the caller's clock for `Engine.pin`, log time in a batch. */
  untilMs?: number;
  /** Why, in free text (at most 1024 bytes). */
  reason?: string;
}

/** `unpin(request, nowMs)`: remove `entity`'s pin. */
export interface UnpinRequest extends LeaseKey {
  entity: string;
}

/** `handover(request, nowMs)`: move a held lease from `from` to `to`, with a new token. */
export interface HandoverRequest extends LeaseKey {
  from: string;
  to: string;
  durationMs: number;
}

/** Options of `new Engine(options)` and `Engine.restore(bytes, options)`; all optional. */
export interface EngineOptions {
  /** How often a batch is cut while requests wait (100). */
  batchIntervalMs?: number;
  /** How often an idle engine still writes a time-only batch (1000). */
  clockIntervalMs?: number;
  /** The most operations in one batch (1000; at most 65,535). */
  maxBatchOps?: number;
  /** The most batches appended but not committed (4). */
  maxInFlight?: number;
  /** The most requests waiting in the extend, admin and claim lanes together (10,000). */
  queueCapacity?: number;
  /** How long a claim may wait for a batch (3000; not longer than `extendDeadlineMs`). */
  claimDeadlineMs?: number;
  /** How long an extension may wait (5000). */
  extendDeadlineMs?: number;
  /** How long a revoke, pin, unpin or handover may wait (5000). */
  adminDeadlineMs?: number;
  /** How long a singular request may wait (5000). */
  singularDeadlineMs?: number;
  /** Cut a batch whenever none is in flight (false). */
  eager?: boolean;
  /** Also report `extended` events (false). */
  reportExtensions?: boolean;
  /** Extensions of held leases name them by their place in the engine's state, a few
   * bytes instead of their names (false: `decodeBatch` has no state to read them with). */
  referToState?: boolean;
  /** The caller's clock when the engine starts (0). */
  nowMs?: number;
}

/** Short names of failed answers. */
export type AnswerError =
  | "held"
  | "invalid"
  | "out-of-sync"
  | "not-valid"
  | "shed"
  | "deadline-exceeded"
  | "aborted"
  | "rejected";

/** The definitive answer to the request with `ticket`. */
export interface AnswerOutput {
  kind: "answer";
  ticket: number;
  /** Whether the request succeeded. */
  ok: boolean;
  /** Whether its operation was decided by the log (false: not applied, safe to retry). */
  reachedLog: boolean;
  /** The lease's fencing token, on success of a claim, extend, revoke or handover. */
  token?: number;
  /** Why it failed. */
  error?: AnswerError;
  /** The state machine's explanation, e.g. `"lease is held by mysql/0"`. */
  message?: string;
  /** Who holds the lease, when `error` is `"held"`. */
  holder?: string;
}

/** A batch was cut and committed. */
export interface BatchOutput {
  kind: "batch";
  seq: number;
  /** Operations, including a leading `setTime`. */
  ops: number;
  /** The encoded batch (`decodeBatch` reads it). */
  bytes: Uint8Array;
}

/** Names of lease events. */
export type EventKind =
  | "claimed"
  | "extended"
  | "expired"
  | "revoked"
  | "pinned"
  | "unpinned"
  | "handed-over";

/** A lease changed: a holder was elected (`claimed`, `handed-over`) or deposed (`expired`, `revoked`), or a pin changed. */
export interface EventOutput extends LeaseKey {
  kind: "event";
  event: EventKind;
  /** The new holder of a grant or handover, the former one of an expiry or revoke, the current one (if any) of a pin change. */
  holder: string | null;
  /** That holder's fencing token. */
  token: number | null;
  /** Who pinned or unpinned (pin events). */
  entity?: string;
  /** Whether an unpin happened because the pin's deadline passed. */
  lapsed?: boolean;
  /** The former holder (`handed-over`). */
  from?: string;
  /** The new expiry on the caller's clock (`claimed`, `extended`, `handed-over`). */
  expiresMs?: number;
}

/** What `Engine.advance` returns, in order. */
export type Output = AnswerOutput | BatchOutput | EventOutput;

/** A held lease. */
export interface Lease extends LeaseKey {
  holder: string;
  /** When it expires, on the caller's clock (a pinned lease reports 30 s ahead). */
  expiresMs: number;
  /** Time left at the `nowMs` of the read (simulated time for a simulation). */
  remainingMs: number;
  /** The holder's fencing token. */
  token: number;
  /** The entities pinning it, sorted. */
  pinnedBy: string[];
}

/** The counters of one lane. */
export interface LaneMetrics {
  name: "singular" | "extend" | "admin" | "claim";
  /** Requests waiting now. */
  depth: number;
  accepted: number;
  shed: number;
  deadlineExceeded: number;
  applied: number;
}

/** The engine's running totals. */
export interface Metrics {
  /** In the order a batch takes them: singular, extend, admin, claim. */
  lanes: LaneMetrics[];
  batches: number;
  batchOps: number;
  batchBytes: number;
  committed: number;
  abandoned: number;
  aborted: number;
  rejected: number;
  coalesced: number;
  leadershipChanges: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
}

/** A time advance; only engines write it. */
export interface SetTimeOp {
  kind: "setTime";
  oldMs: number;
  newMs: number;
}

/** One operation of a batch. */
export type Op =
  | ({ kind: "claim" } & ClaimRequest)
  | ({ kind: "extend" } & ExtendRequest)
  | ({ kind: "revoke" } & RevokeRequest)
  | ({ kind: "pin" } & PinRequest)
  | ({ kind: "unpin" } & UnpinRequest)
  | SetTimeOp
  | ({ kind: "handover" } & HandoverRequest);

/** A batch: one log entry. */
export interface Batch {
  seq: number;
  ops: Op[];
}

/** The scenario presets. */
export type ScenarioName =
  | "ps45"
  | "claimer-abuse"
  | "staged-overload"
  | "restart-herd"
  | "series-upgrade"
  | "fencing-race"
  | "million";

/** A simulation's parameters; a preset fills them in. */
export interface SimulationParams {
  seed: number;
  mode: "batched" | "per-op";
  leases: number;
  units: number;
  singular: number;
  models: number;
  durationMs: number;
  renewMs: number;
  joinSpreadMs: number;
  seconds: number;
  commitLatencyMs: number;
  entriesPerSec: number;
  opsPerSec: number;
  bytesPerSec: number;
  batchIntervalMs: number;
  maxBatchOps: number;
  maxInFlight: number;
  queueCapacity: number;
  eager: boolean;
}

/** `new Simulation(options)`: a preset and any parameters to override. */
export interface SimulationOptions extends Partial<SimulationParams> {
  scenario: ScenarioName;
}

/** A preset, as `scenarios()` lists it. */
export interface ScenarioInfo {
  name: ScenarioName;
  description: string;
  params: SimulationParams;
}

/** A simulation's totals (the load test's fields). */
export interface SimulationStats {
  scenario: string;
  mode: "batched" | "per-op";
  leases: number;
  holders: number;
  simSeconds: number;
  requests: number;
  ops: number;
  logEntries: number;
  logBytes: number;
  bytesPerOp: number;
  entriesPerSecond: number;
  extendOk: number;
  extendFailed: number;
  claimsOk: number;
  claimsShed: number;
  othersShed: number;
  deadlineExceeded: number;
  singularOk: number;
  singularFailed: number;
  leaderChanges: number;
  spuriousLeaderChanges: number;
  pinnedLeaderChanges: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
  coalesced: number;
  invariantViolations: number;
  /** The first invariant break, if any. */
  violation: string | null;
  maxQueueDepth: number;
  maxLogBacklog: number;
  /** After the load dropped: ms until the queue was back within one batch. */
  recoveryMs: number | null;
  staleWrites: number;
  staleWritesRefused: number;
  staleWritesAcceptedWithoutTokens: number;
}
