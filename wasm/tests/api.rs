//! The JavaScript API through its Rust exports, under Node (wasm-bindgen-test): the happy
//! path and every kind of bad input, which must throw an `Error` naming what was wrong
//! and leave the engine usable.
#![cfg(target_arch = "wasm32")]

use js_sys::{Error, JSON, Uint8Array};
use leasehold_wasm::{Engine, Simulation, decode_batch, encode_batch, scenarios};
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test as test;

/// A JavaScript value from JSON.
fn js(value: Value) -> JsValue {
    JSON::parse(&value.to_string()).expect("valid JSON")
}

/// A JavaScript value as JSON (a `Uint8Array` becomes an object of its bytes).
fn json_of(value: &JsValue) -> Value {
    let text: String = JSON::stringify(value).expect("stringifies").into();
    serde_json::from_str(&text).expect("parses")
}

fn ms(n: f64) -> JsValue {
    JsValue::from_f64(n)
}

/// The message of the `Error` a call threw.
fn message<T>(result: Result<T, Error>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(e) => {
            assert!(e.is_instance_of::<Error>());
            String::from(e.message())
        }
    }
}

fn key() -> Value {
    json!({"namespace": "application-leadership", "model": "m", "lease": "mysql"})
}

fn with(mut base: Value, extra: Value) -> Value {
    let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) else {
        panic!("objects");
    };
    b.extend(e.clone());
    base
}

fn claim(holder: &str) -> JsValue {
    js(with(key(), json!({"holder": holder, "durationMs": 60_000})))
}

/// The answers in `outputs`, by ticket.
fn answer(outputs: &Value, ticket: f64) -> Value {
    outputs
        .as_array()
        .expect("an array")
        .iter()
        .find(|o| o["kind"] == "answer" && o["ticket"].as_f64() == Some(ticket))
        .cloned()
        .unwrap_or_else(|| panic!("no answer for ticket {ticket} in {outputs}"))
}

#[test]
fn claim_rival_pin_snapshot_restore() {
    let engine = Engine::new(JsValue::UNDEFINED).unwrap();
    let first = engine.claim(claim("mysql/0"), ms(0.0)).unwrap();
    let rival = engine.claim(claim("mysql/1"), ms(10.0)).unwrap();
    let out = json_of(&engine.advance(ms(100.0)).unwrap());
    let kinds: Vec<&str> = out
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["batch", "event", "answer", "answer"], "{out}");
    let won = answer(&out, first);
    assert_eq!(won["ok"], true);
    assert_eq!(won["reachedLog"], true);
    assert_eq!(won["token"], 1);
    let lost = answer(&out, rival);
    assert_eq!(lost["ok"], false);
    assert_eq!(lost["error"], "held");
    assert_eq!(lost["holder"], "mysql/0");
    assert_eq!(out[1]["event"], "claimed");
    assert_eq!(out[1]["expiresMs"], 60_100);

    let pin = js(with(
        key(),
        json!({"entity": "machine-7", "reason": "upgrade"}),
    ));
    let pinned = engine.pin(pin, ms(200.0)).unwrap();
    let out = json_of(&engine.advance(ms(120_000.0)).unwrap());
    assert_eq!(answer(&out, pinned)["ok"], true);
    let leases = json_of(&engine.leases(ms(120_000.0)).unwrap());
    assert_eq!(leases[0]["holder"], "mysql/0", "pinned across its expiry");
    assert_eq!(leases[0]["pinnedBy"], json!(["machine-7"]));

    let snapshot = engine.snapshot().unwrap();
    let restored = Engine::restore(
        Uint8Array::from(&snapshot[..]).into(),
        js(json!({"nowMs": 5})),
    )
    .unwrap();
    assert_eq!(
        json_of(&restored.leases(ms(5.0)).unwrap())[0]["token"],
        1,
        "the restored engine holds the same lease"
    );
    let metrics = json_of(&engine.metrics().unwrap());
    assert_eq!(metrics["lanes"][3]["name"], "claim");
    assert_eq!(metrics["lanes"][3]["accepted"], 2);
    assert!(metrics["batches"].as_u64().unwrap() >= 2);
}

#[test]
fn bad_requests_throw_and_leave_the_engine_usable() {
    let engine = Engine::new(js(json!({"batchIntervalMs": 50}))).unwrap();
    let cases = [
        (
            with(key(), json!({"holder": "a", "durationMs": -5})),
            "`durationMs`",
        ),
        (
            with(key(), json!({"holder": 7, "durationMs": 5})),
            "`holder`",
        ),
        (
            with(key(), json!({"durationMs": 5})),
            "missing field `holder`",
        ),
        (
            with(key(), json!({"holder": "a", "durationMs": 5, "x": 1})),
            "unknown field `x`",
        ),
        (
            with(key(), json!({"holder": "", "durationMs": 5})),
            "`holder` must not be empty",
        ),
        (
            with(key(), json!({"holder": "a", "durationMs": 0})),
            "`durationMs` must be at least 1 ms",
        ),
        (json!("a string"), "must be an object, got a string"),
        (json!([1, 2]), "must be an object, got an array"),
    ];
    for (request, expected) in cases {
        let m = message(engine.claim(js(request.clone()), ms(0.0)));
        assert!(
            m.starts_with("claim: ") && m.contains(expected),
            "{request}: {m}"
        );
    }
    let m = message(engine.claim(claim("a"), JsValue::from_str("soon")));
    assert!(m.contains("`nowMs`"), "{m}");
    let m = message(engine.claim(claim("a"), ms(-1.0)));
    assert!(m.contains("`nowMs`"), "{m}");
    let m = message(engine.advance(ms(f64::NAN)));
    assert!(m.contains("`nowMs`"), "{m}");
    let m = message(engine.pin(
        js(with(key(), json!({"entity": "e", "untilMs": "x"}))),
        ms(0.0),
    ));
    assert!(m.contains("`untilMs`"), "{m}");

    // Still usable: nothing bad reached it.
    let ticket = engine.claim(claim("a"), ms(0.0)).unwrap();
    assert_eq!(ticket, 1.0, "no ticket was spent on bad input");
    let out = json_of(&engine.advance(ms(50.0)).unwrap());
    assert_eq!(answer(&out, ticket)["ok"], true);
}

#[test]
fn bad_options_name_the_field() {
    let cases = [
        (
            json!({"batchIntervalMs": 0}),
            "`batchIntervalMs` must be at least 1 ms",
        ),
        (
            json!({"batchIntrvalMs": 10}),
            "unknown field `batchIntrvalMs`",
        ),
        (
            json!({"clockIntervalMs": 10}),
            "`clockIntervalMs` must not be shorter",
        ),
        (json!({"maxBatchOps": 1.5}), "`maxBatchOps`"),
        (
            json!({"maxBatchOps": 100_000}),
            "`maxBatchOps` must be between",
        ),
        (json!({"claimDeadlineMs": -1}), "`claimDeadlineMs`"),
        (json!({"eager": "yes"}), "`eager`"),
        (json!(5), "options must be an object"),
    ];
    for (options, expected) in cases {
        let m = message(Engine::new(js(options.clone())));
        assert!(
            m.starts_with("new Engine: ") && m.contains(expected),
            "{options}: {m}"
        );
    }
}

#[test]
fn garbage_and_truncated_bytes_throw() {
    let garbage = |bytes: &[u8]| JsValue::from(Uint8Array::from(bytes));
    let m = message(decode_batch(garbage(&[1, 2, 3])));
    assert!(m.starts_with("decodeBatch: bad batch: "), "{m}");
    let m = message(decode_batch(garbage(&[])));
    assert!(m.contains("truncated"), "{m}");
    let m = message(decode_batch(JsValue::from_str("abc")));
    assert!(m.contains("must be a Uint8Array"), "{m}");

    let engine = Engine::new(JsValue::NULL).unwrap();
    engine.claim(claim("a"), ms(0.0)).unwrap();
    engine.advance(ms(100.0)).unwrap();
    let snapshot = engine.snapshot().unwrap();
    let cut = &snapshot[..snapshot.len() - 3];
    let m = message(Engine::restore(garbage(cut), JsValue::UNDEFINED));
    assert!(m.starts_with("Engine.restore: bad snapshot: "), "{m}");
    let m = message(Engine::restore(garbage(&snapshot), js(json!({"nope": 1}))));
    assert!(m.contains("unknown field `nope`"), "{m}");
    assert!(Engine::restore(garbage(&snapshot), JsValue::UNDEFINED).is_ok());
}

#[test]
fn batches_round_trip_and_bad_ones_throw() {
    let batch = json!({"seq": 3, "ops": [
        with(key(), json!({"kind": "claim", "holder": "a", "durationMs": 5000})),
        with(key(), json!({"kind": "pin", "entity": "e", "untilMs": 9000, "reason": "r"})),
        {"kind": "setTime", "oldMs": 0, "newMs": 100},
        with(key(), json!({"kind": "handover", "from": "a", "to": "b", "durationMs": 10})),
    ]});
    let bytes = encode_batch(js(batch.clone())).unwrap();
    let decoded = decode_batch(Uint8Array::from(&bytes[..]).into()).unwrap();
    assert_eq!(json_of(&decoded), batch);

    let cases = [
        (
            json!({"seq": 1, "ops": [{"kind": "clam"}]}),
            "ops[0]: `kind`: unknown variant `clam`, expected one of",
        ),
        (
            json!({"seq": 1, "ops": [key()]}),
            "ops[0]: missing field `kind`",
        ),
        (
            // A wrong value is named wherever `kind` stands.
            json!({"seq": 1, "ops": [with(json!({"durationMs": "5", "kind": "claim"}), key())]}),
            "ops[0]: `durationMs`: invalid type: string \"5\"",
        ),
        (json!({"seq": -1, "ops": []}), "`seq`"),
        (json!({"ops": []}), "missing field `seq`"),
        (json!({"seq": 1, "ops": {}}), "`ops` must be an array"),
    ];
    for (batch, expected) in cases {
        let m = message(encode_batch(js(batch.clone())));
        assert!(
            m.starts_with("encodeBatch: ") && m.contains(expected),
            "{batch}: {m}"
        );
    }
}

#[test]
fn simulations_run_and_bad_ones_throw() {
    let presets = json_of(&scenarios().unwrap());
    assert_eq!(presets.as_array().unwrap().len(), 7);
    assert_eq!(presets[0]["params"]["durationMs"], 60_000);

    let sim = Simulation::new(js(json!({"scenario": "ps45", "leases": 20, "seed": 7}))).unwrap();
    sim.run(ms(40_000.0)).unwrap();
    let stats = json_of(&sim.stats().unwrap());
    assert_eq!(stats["simSeconds"], 40.0);
    assert_eq!(stats["invariantViolations"], 0);
    assert!(stats["extendOk"].as_u64().unwrap() > 0);
    assert_eq!(
        json_of(&sim.leases().unwrap()).as_array().unwrap().len(),
        23
    );

    let cases = [
        (json!({"scenario": "nope"}), "unknown scenario `nope`"),
        (json!({}), "missing field `scenario`"),
        (json!({"scenario": 5}), "`scenario` must be a string"),
        (
            json!({"scenario": "ps45", "lease": 5}),
            "unknown parameter `lease`",
        ),
        (
            json!({"scenario": "ps45", "duration_ms": 5}),
            "unknown parameter `duration_ms`",
        ),
        (json!({"scenario": "ps45", "renewMs": 70_000}), "`renewMs`"),
        (
            json!({"scenario": "ps45", "leases": -1}),
            "`leases` must be a whole number",
        ),
        (json!({"scenario": "ps45", "mode": "x"}), "`mode`"),
        (
            json!({"scenario": "ps45", "seed": null}),
            "`seed` must be a number",
        ),
    ];
    for (options, expected) in cases {
        let m = message(Simulation::new(js(options.clone())));
        assert!(
            m.starts_with("new Simulation: ") && m.contains(expected),
            "{options}: {m}"
        );
    }
    // Overrides apply in any order.
    let order = json!({"scenario": "ps45", "durationMs": 10_000, "renewMs": 5_000, "leases": 5});
    assert!(Simulation::new(js(order)).is_ok());
    let m = message(sim.run(ms(-1.0)));
    assert!(m.contains("`ms`"), "{m}");
}
