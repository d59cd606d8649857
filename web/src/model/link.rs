//! The run a link describes: `?scenario=ps45&seed=3&leases=20`. The scenario and every
//! parameter that differs from its preset go in the query, so a link reproduces a run.
//! Parameters are named as the core names them ([`leasehold::sim::PARAM_NAMES`]: `durationMs`,
//! `joinSpreadMs`, ...); older links that spell them in snake case (`duration_ms`)
//! still load.

use leasehold::sim::{ParamError, Params, SCENARIOS, Scenario};

/// A scenario and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// The scenario's name (one of [`SCENARIOS`]).
    pub scenario: String,
    /// Its parameters, the preset's with overrides.
    pub params: Params,
}

impl Default for RunSpec {
    fn default() -> RunSpec {
        RunSpec::preset(SCENARIOS[0]).expect("the first scenario exists")
    }
}

impl RunSpec {
    /// The preset `scenario` as it is.
    #[must_use]
    pub fn preset(scenario: &str) -> Option<RunSpec> {
        Scenario::named(scenario).map(|s| RunSpec {
            scenario: s.name.to_owned(),
            params: s.params,
        })
    }

    /// The run a query string describes (with or without its leading `?`). Impossible
    /// values are listed in the second value and otherwise ignored; names that are no
    /// parameter are ignored.
    #[must_use]
    pub fn from_query(query: &str) -> (RunSpec, Vec<String>) {
        let pairs: Vec<(String, String)> = query
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        let mut problems = Vec::new();
        let scenario = pairs
            .iter()
            .find(|(k, _)| k == "scenario")
            .map(|(_, v)| v.as_str());
        let mut spec = match scenario.map(RunSpec::preset) {
            Some(Some(spec)) => spec,
            Some(None) => {
                problems.push(format!("unknown scenario `{}`", scenario.unwrap_or("")));
                RunSpec::default()
            }
            None => RunSpec::default(),
        };
        let preset = spec.clone();
        for (k, v) in pairs.iter().filter(|(k, _)| k != "scenario") {
            match spec.params.set(k, v) {
                Ok(()) | Err(ParamError::Unknown(_)) => {}
                Err(e) => problems.push(e.to_string()),
            }
        }
        // Parameters are checked together (they may be given in any order); a set that
        // does not make sense falls back to the preset, keeping the seed.
        if let Err(e) = spec.params.validate() {
            problems.push(e.to_string());
            let seed = spec.params.seed;
            spec = preset;
            spec.params.seed = seed;
        }
        (spec, problems)
    }

    /// The query string of this run: the scenario, then the parameters that differ from
    /// the preset (the seed always), by their names in
    /// [`leasehold::sim::PARAM_NAMES`].
    #[must_use]
    pub fn to_query(&self) -> String {
        let preset = RunSpec::preset(&self.scenario).unwrap_or_default();
        let base = preset.params.values();
        let mut q = format!("?scenario={}", encode(&self.scenario));
        for ((name, value), (_, was)) in self.params.values().into_iter().zip(base) {
            if name == "seed" || value != was {
                q.push_str(&format!("&{name}={}", encode(&value.to_string())));
            }
        }
        q
    }
}

/// The lease service a link attaches to (`?attach=http://127.0.0.1:7401`), if any.
#[must_use]
pub fn attach_of(query: &str) -> Option<String> {
    query
        .trim_start_matches('?')
        .split('&')
        .find_map(|p| p.strip_prefix("attach="))
        .map(decode)
        .filter(|u| !u.trim().is_empty())
}

/// The query of a link that attaches to `url`.
#[must_use]
pub fn attach_query(url: &str) -> String {
    // `:` and `/` may stand in a query as they are: the link stays readable.
    let mut q = String::from("?attach=");
    for part in url.trim().split_inclusive(['/', ':']) {
        match part.strip_suffix(['/', ':']) {
            Some(text) => {
                q.push_str(&encode(text));
                q.push_str(&part[text.len()..]);
            }
            None => q.push_str(&encode(part)),
        }
    }
    q
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use leasehold::sim::PARAM_NAMES;

    #[test]
    fn an_attach_link_reads_back() {
        let q = attach_query("http://127.0.0.1:7401");
        assert_eq!(q, "?attach=http://127.0.0.1:7401");
        assert_eq!(attach_of(&q).as_deref(), Some("http://127.0.0.1:7401"));
        assert_eq!(
            attach_of("?scenario=ps45&attach=h%3A1").as_deref(),
            Some("h:1")
        );
        assert_eq!(attach_of("?attach="), None);
        assert_eq!(attach_query("h x"), "?attach=h%20x");
    }

    #[test]
    fn a_link_reproduces_the_run() {
        let (spec, problems) = RunSpec::from_query("?scenario=ps45&seed=3&leases=20");
        assert!(problems.is_empty());
        assert_eq!(spec.scenario, "ps45");
        assert_eq!((spec.params.seed, spec.params.leases), (3, 20));
        assert_eq!(spec.to_query(), "?scenario=ps45&seed=3&leases=20");
        assert_eq!(RunSpec::from_query(&spec.to_query()).0, spec);
    }

    #[test]
    fn bad_parts_are_reported_and_ignored() {
        let (spec, problems) = RunSpec::from_query("scenario=nope&mode=per%2Dop&x=1&leases=a");
        assert_eq!(spec.scenario, "ps45");
        assert_eq!(spec.params.mode, leasehold::sim::Mode::PerOp);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let (spec, problems) = RunSpec::from_query("scenario=series-upgrade&seed=4&units=0");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((spec.params.units, spec.params.seed), (3, 4));
        // Any order: a shorter duration first, then the renewal that fits it.
        let (spec, problems) = RunSpec::from_query("durationMs=5000&renewMs=4500");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(spec.params.duration_ms, 5_000);
        // The link names them as the core does.
        assert_eq!(
            spec.to_query(),
            "?scenario=ps45&seed=1&durationMs=5000&renewMs=4500"
        );
        assert!(
            spec.to_query()
                .split('&')
                .skip(1)
                .all(|p| PARAM_NAMES.contains(&p.split('=').next().unwrap()))
        );
        // An older link, in snake case, still loads the same run.
        let (old, problems) = RunSpec::from_query("duration_ms=5000&renew_ms=4500");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(old, spec);
        assert_eq!(RunSpec::from_query("").0, RunSpec::default());
        assert_eq!(decode("a%2"), "a%2");
    }
}
