//! The serde form of the public types: the names the JavaScript API and the service use.
#![cfg(all(feature = "serde", not(target_arch = "wasm32")))]

use leasehold::{Answer, Config, Engine, Event, Fsm, Key, Op, Outcome, Ticket, Time};
use serde_json::{Value, json};
use std::time::Duration;

fn key() -> Key {
    Key::new("application-leadership", "m", "mysql")
}

fn every_op() -> Vec<Op> {
    let d = Duration::from_secs(60);
    vec![
        Op::claim(key(), "mysql/0", d),
        Op::extend(key(), "mysql/0", d),
        Op::revoke(key(), "mysql/0"),
        Op::pin(key(), "machine-7"),
        Op::pin_until(
            key(),
            "machine-7",
            Time::from_millis(90_000),
            "series upgrade",
        ),
        Op::unpin(key(), "machine-7"),
        Op::set_time(Time::from_millis(1_000), Time::from_millis(2_000)),
        Op::handover(key(), "mysql/0", "mysql/1", d),
    ]
}

#[test]
fn every_operation_has_its_kind_and_camel_case_fields_and_reads_back() {
    let forms: Vec<Value> = every_op()
        .iter()
        .map(|op| serde_json::to_value(op).unwrap())
        .collect();
    let kinds: Vec<&str> = forms.iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "claim", "extend", "revoke", "pin", "pin", "unpin", "setTime", "handover"
        ]
    );
    for (op, form) in every_op().iter().zip(&forms) {
        assert_eq!(form["kind"], op.kind(), "kind() is the form's kind");
        assert_eq!(serde_json::from_value::<Op>(form.clone()).unwrap(), *op);
    }
    assert_eq!(
        forms[0],
        json!({"kind": "claim", "namespace": "application-leadership", "model": "m",
               "lease": "mysql", "holder": "mysql/0", "durationMs": 60_000})
    );
    assert_eq!(
        forms[4],
        json!({"kind": "pin", "namespace": "application-leadership", "model": "m",
               "lease": "mysql", "entity": "machine-7", "untilMs": 90_000,
               "reason": "series upgrade"})
    );
    assert_eq!(forms[3].get("untilMs"), None, "absent options are left out");
    assert_eq!(
        forms[6],
        json!({"kind": "setTime", "oldMs": 1_000, "newMs": 2_000})
    );
    assert_eq!(forms[7]["from"], "mysql/0");
    assert_eq!(forms[7]["to"], "mysql/1");
}

#[test]
fn bad_operations_are_refused_naming_what_is_wrong() {
    let bad = |v: Value| serde_json::from_value::<Op>(v).unwrap_err().to_string();
    let claim = json!({"kind": "claim", "namespace": "n", "model": "m", "lease": "l",
                       "holder": "h", "durationMs": 5});
    let with = |field: &str, value: Value| {
        let mut v = claim.clone();
        v[field] = value;
        v
    };
    assert!(bad(with("colour", json!("red"))).contains("unknown field `colour`"));
    assert!(bad(with("kind", json!("steal"))).contains("unknown variant `steal`"));
    assert!(bad(with("durationMs", json!(-5))).contains("milliseconds"));
    assert!(bad(with("durationMs", json!("5s"))).contains("milliseconds"));
    assert!(bad(with("durationMs", json!(1e300))).contains("milliseconds"));
    let mut missing = claim.clone();
    missing.as_object_mut().unwrap().remove("holder");
    assert!(bad(missing).contains("missing field `holder`"));
    // A fraction of a millisecond is dropped, as JavaScript clocks give fractions.
    let op: Op = serde_json::from_value(with("durationMs", json!(5.75))).unwrap();
    assert_eq!(
        op,
        Op::claim(Key::new("n", "m", "l"), "h", Duration::from_millis(5))
    );
}

#[test]
fn answers_say_ok_whether_they_reached_the_log_and_why_not() {
    let answer = |outcome| {
        serde_json::to_value(Answer {
            ticket: Ticket(7),
            outcome,
        })
        .unwrap()
    };
    assert_eq!(
        answer(Outcome::Applied(Ok(Some(3)))),
        json!({"ticket": 7, "ok": true, "reachedLog": true, "token": 3})
    );
    assert_eq!(
        answer(Outcome::Applied(Err(leasehold::LeaseError::Held {
            holder: "mysql/0".into()
        }))),
        json!({"ticket": 7, "ok": false, "reachedLog": true, "error": "held",
               "message": "lease is held by mysql/0", "holder": "mysql/0"})
    );
    for (outcome, name) in [
        (Outcome::Shed, "shed"),
        (Outcome::DeadlineExceeded, "deadline-exceeded"),
        (Outcome::Aborted, "aborted"),
    ] {
        assert_eq!(
            serde_json::to_value(&outcome).unwrap(),
            json!({"ok": false, "reachedLog": false, "error": name})
        );
    }
    // A malformed request names the field as the caller wrote it.
    let mut engine = Engine::single_node(Config::default(), Time::ZERO).unwrap();
    let ticket = engine.handle_request(Time::ZERO, Op::claim(key(), "h", Duration::ZERO));
    let rejected = std::iter::from_fn(|| match engine.poll_output() {
        leasehold::Output::Timeout(_) => None,
        out => Some(out),
    })
    .find_map(|out| match out {
        leasehold::Output::Answer(a) if a.ticket == ticket => Some(a),
        _ => None,
    })
    .unwrap();
    let form = serde_json::to_value(&rejected).unwrap();
    assert_eq!(form["error"], "rejected");
    assert_eq!(form["message"], "`durationMs` must be at least 1 ms");
}

#[test]
fn events_and_leases_use_the_same_names() {
    let mut fsm = Fsm::new();
    let applied = fsm
        .apply(&Op::claim(key(), "mysql/0", Duration::from_secs(60)))
        .unwrap();
    let claimed = serde_json::to_value(&applied.events[0]).unwrap();
    assert_eq!(
        claimed,
        json!({"event": "claimed", "namespace": "application-leadership", "model": "m",
               "lease": "mysql", "holder": "mysql/0", "token": 1, "expiresMs": 60_000})
    );
    let lapsed = Event::Unpinned {
        key: key(),
        entity: "machine-7".into(),
        lapsed: true,
        holder: None,
        token: None,
    };
    assert_eq!(
        serde_json::to_value(&lapsed).unwrap(),
        json!({"event": "unpinned", "namespace": "application-leadership", "model": "m",
               "lease": "mysql", "holder": null, "token": null, "entity": "machine-7",
               "lapsed": true})
    );
    fsm.apply(&Op::pin(key(), "machine-7")).unwrap();
    let lease = serde_json::to_value(&fsm.leases(Time::from_millis(5))[0]).unwrap();
    assert_eq!(
        lease,
        json!({"namespace": "application-leadership", "model": "m", "lease": "mysql",
               "holder": "mysql/0", "token": 1, "expiresMs": 30_005,
               "pinnedBy": ["machine-7"]})
    );
}

#[test]
fn config_reads_what_is_given_and_defaults_the_rest() {
    let config: Config =
        serde_json::from_value(json!({"batchIntervalMs": 50, "maxInFlight": 2, "eager": true}))
            .unwrap();
    assert_eq!(config.batch_interval, Duration::from_millis(50));
    assert_eq!(config.max_in_flight, 2);
    assert!(config.eager);
    assert_eq!(config.queue_capacity, Config::default().queue_capacity);
    let back: Config = serde_json::from_value(serde_json::to_value(&config).unwrap()).unwrap();
    assert_eq!(back, config);
    let written = serde_json::to_value(Config::default()).unwrap();
    assert_eq!(written["claimDeadlineMs"], 3_000);
    assert_eq!(written.as_object().unwrap().len(), 12);
    assert_eq!(written["referToState"], true);
    let err = serde_json::from_value::<Config>(json!({"batchInterval": 5})).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `batchInterval`"),
        "{err}"
    );
    // The check names the field the same way.
    let bad: Config = serde_json::from_value(json!({"batchIntervalMs": 0})).unwrap();
    assert_eq!(bad.validate().unwrap_err().field, "batchIntervalMs");
}

#[cfg(feature = "sim")]
#[test]
fn simulation_parameters_are_named_once_in_camel_case() {
    use leasehold::sim::{PARAM_NAMES, Params, Scenario};
    let params = Scenario::named("claimer-abuse").unwrap().params;
    let form = serde_json::to_value(&params).unwrap();
    let names: Vec<&String> = form.as_object().unwrap().keys().collect();
    assert_eq!(names.len(), PARAM_NAMES.len());
    for name in PARAM_NAMES {
        assert!(form.get(*name).is_some(), "{name}");
        assert!(!name.contains('_'), "{name}");
    }
    assert_eq!(form["mode"], "batched");
    assert_eq!(form["eager"], false);
    assert_eq!(form["durationMs"], 5_000);
    // Both spellings set the same parameter; errors use the camelCase one.
    let mut p = Params::default();
    p.set("renew_ms", "1234").unwrap();
    assert_eq!(p.renew_ms, 1234);
    p.set("renewMs", "4321").unwrap();
    assert_eq!(p.renew_ms, 4321);
    assert_eq!(
        p.set("join_spread_ms", "soon").unwrap_err().to_string(),
        "parameter `joinSpreadMs` must be a whole number"
    );
}

#[test]
fn operations_display_on_one_line() {
    let lines: Vec<String> = every_op().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "claim application-leadership/m/mysql by mysql/0 for 60.000s",
            "extend application-leadership/m/mysql by mysql/0 for 60.000s",
            "revoke application-leadership/m/mysql by mysql/0",
            "pin application-leadership/m/mysql for machine-7",
            "pin application-leadership/m/mysql for machine-7 until 90.000s (series upgrade)",
            "unpin application-leadership/m/mysql for machine-7",
            "setTime 1.000s → 2.000s",
            "handover application-leadership/m/mysql from mysql/0 to mysql/1 for 60.000s",
        ]
    );
}
