// The smallest complete example of embedding leasehold in a web page: one Engine, driven
// by a timer, with buttons for requests, the lease table and each batch as it is cut.
// No framework; the only thing built is the package (./scripts/wasm.sh → www/pkg).
import init, { Engine, decodeBatch } from "../pkg/leasehold_wasm.js";

const NAMESPACE = "application-leadership";
const MODEL = "example";
const PIN_MS = 30_000;
const SHOWN = 50; // list entries kept on screen

const $ = (id) => document.getElementById(id);
const form = $("controls");

await init();
// The engine's clock is the page's: every call passes performance.now().
const engine = new Engine({ batchIntervalMs: 100, nowMs: performance.now() });
const pending = new Map(); // ticket → what was asked, for the log
let idleBatches = 0;

/** Submits the request a button names, for the lease and holder chosen in the form. */
function request(op) {
  const now = performance.now();
  const lease = form.elements.lease.value;
  const holder = form.elements.holder.value;
  const durationMs = Number(form.elements.duration.value);
  const key = { namespace: NAMESPACE, model: MODEL, lease };
  let ticket;
  try {
    switch (op) {
      case "claim": ticket = engine.claim({ ...key, holder, durationMs }, now); break;
      case "extend": ticket = engine.extend({ ...key, holder, durationMs }, now); break;
      case "revoke": ticket = engine.revoke({ ...key, holder }, now); break;
      case "pin": ticket = engine.pin({ ...key, entity: "machine-0", untilMs: now + PIN_MS, reason: "example" }, now); break;
      case "unpin": ticket = engine.unpin({ ...key, entity: "machine-0" }, now); break;
    }
  } catch (error) {
    // Bad input throws an Error that says what was wrong; the engine carries on.
    log(error.message, "refused");
    return;
  }
  pending.set(ticket, op === "pin" || op === "unpin" ? `${op} ${lease}` : `${op} ${lease} by ${holder}`);
}

form.addEventListener("click", (event) => {
  const op = event.target.dataset?.op;
  if (op) request(op);
});

/** Runs the engine up to now and shows what happened. */
function tick() {
  const now = performance.now();
  for (const out of engine.advance(now)) {
    if (out.kind === "batch") showBatch(out);
    else if (out.kind === "answer") showAnswer(out);
    else showEvent(out);
  }
  showLeases(now);
}

function showBatch(batch) {
  const ops = decodeBatch(batch.bytes).ops.filter((op) => op.kind !== "setTime");
  if (ops.length === 0) {
    // Time-only batches (one a second when idle) let leases expire; count them only.
    $("idle").textContent = `(+ ${++idleBatches} time-only)`;
    return;
  }
  const what = ops.map((op) => `${op.kind} ${op.lease}${op.holder ? ` by ${op.holder}` : ""}`);
  prepend($("batches"), `#${batch.seq} · ${batch.ops} ops · ${batch.bytes.length} bytes — ${what.join(", ")}`, "info");
}

function showAnswer(answer) {
  const asked = pending.get(answer.ticket) ?? `ticket ${answer.ticket}`;
  pending.delete(answer.ticket);
  if (answer.ok) {
    log(`✓ ${asked}${answer.token ? ` (token ${answer.token})` : ""}`, "ok");
  } else {
    log(`✗ ${asked}: ${answer.message ?? answer.error}`, "refused");
  }
}

function showEvent(event) {
  const who = (event.entity ?? event.holder ?? "") + (event.lapsed ? " (its deadline passed)" : "");
  const deposed = event.event === "expired" || event.event === "revoked";
  log(`${event.lease}: ${event.event} ${who}`, deposed ? "refused" : event.event.includes("pin") ? "pin" : "ok");
}

/** Text for HTML (lease and holder names come from the form, but copies of this page may
 * take them from anywhere). */
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function showLeases(now) {
  const rows = engine.leases(now).map((l) => {
    const pinned = l.pinnedBy.length > 0;
    const left = Math.max(0, l.remainingMs);
    const share = Math.min(100, (100 * left) / 60_000);
    return `<tr class="${pinned ? "pinned" : ""}">
      <td>${esc(l.lease)}</td><td>${esc(l.holder)}</td><td class="num">${l.token}</td>
      <td><div class="bar"><span style="width:${share}%"></span></div></td>
      <td class="num">${pinned ? "∞" : (left / 1000).toFixed(1)}</td>
      <td class="pin">${esc(l.pinnedBy.join(", "))}</td></tr>`;
  });
  $("leases").innerHTML = rows.join("") ||
    `<tr><td colspan="6" class="empty">No lease is held: claim one.</td></tr>`;
}

function log(text, kind) {
  prepend($("log"), text, kind);
}

function prepend(list, text, kind) {
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = `${(performance.now() / 1000).toFixed(1)} s  ${text}`;
  list.prepend(item);
  while (list.children.length > SHOWN) list.lastElementChild.remove();
}

setInterval(tick, 100);
