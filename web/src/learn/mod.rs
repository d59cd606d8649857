//! Guided chapters: short, narrated, reproducible stories, each built on a scenario of
//! the simulator with a fixed seed. A chapter is a list of [`Step`]s; a step may act on
//! the simulation when it begins ([`Act`]) and its narration waits for the engine to
//! reach the moment it explains ([`Cue`]) before Continue is offered.
//!
//! Everything here is plain Rust over [`Simulation`], tested natively: every chapter is
//! walked from start to end by `cargo test` as well as by the browser tests.

mod cue;
mod guide;
mod text;

pub use cue::{Act, Cue, Mark};
pub use guide::{Forward, Guide, QUANTUM_MS};
pub use text::CHAPTERS;

/// The link to chapter `n` (from 1), a URL fragment: `#/learn/n`.
#[must_use]
pub fn link(n: usize) -> String {
    format!("#/learn/{n}")
}

/// The chapter number a URL fragment links to (`#/learn/3` → 3), whether or not such a
/// chapter exists; `None` for any other fragment.
#[must_use]
pub fn linked(fragment: &str) -> Option<usize> {
    let n = fragment.strip_prefix("#/learn/")?;
    n.trim_end_matches('/').parse().ok()
}

/// The fragment the URL should show when chapter `open` (or none, the dashboard) is
/// on screen and the URL shows `current`: `None` when it already fits. A fragment that
/// links to no chapter is left alone while the dashboard shows (its notice says why).
#[must_use]
pub fn refragment(open: Option<usize>, current: &str) -> Option<String> {
    let linked = linked(current);
    match open {
        _ if linked == open => None,
        Some(n) => Some(link(n)),
        None => linked.and_then(Chapter::number).map(|_| String::new()),
    }
}

use leasehold::sim::{Params, Scenario, SimError, Simulation};

/// One chapter.
#[derive(Debug, Clone, Copy)]
pub struct Chapter {
    /// Its title.
    pub title: &'static str,
    /// The scenario it runs.
    pub scenario: &'static str,
    /// The seed: the same every time, so the story is the same for every student.
    pub seed: u64,
    /// Parameter overrides on the scenario's preset.
    pub overrides: &'static [(&'static str, &'static str)],
    /// A second simulation run side by side, with these overrides on top (chapter 2).
    pub beside: Option<&'static [(&'static str, &'static str)]>,
    /// How fast the story plays (simulated seconds per second).
    pub speed: f64,
    /// The steps, in order.
    pub steps: &'static [Step],
}

/// One step of a chapter.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// The narration.
    pub text: &'static str,
    /// What happens to the simulation when the step begins.
    pub act: Act,
    /// What the narration waits for.
    pub cue: Cue,
}

impl Chapter {
    /// The chapter numbered `n` (from 1), if any.
    #[must_use]
    pub fn number(n: usize) -> Option<&'static Chapter> {
        n.checked_sub(1).and_then(|i| CHAPTERS.get(i))
    }

    /// The parameters of the chapter's main simulation (and, with `beside`, of the one
    /// beside it).
    pub fn params(&self, beside: bool) -> Result<Params, SimError> {
        let mut p = Scenario::named(self.scenario)
            .ok_or_else(|| SimError::UnknownScenario(self.scenario.to_owned()))?
            .params;
        p.seed = self.seed;
        let extra = if beside {
            self.beside.unwrap_or(&[])
        } else {
            &[]
        };
        for (k, v) in self.overrides.iter().chain(extra) {
            p.set(k, v)?;
        }
        Ok(p)
    }

    /// A fresh simulation of the chapter (or of the one beside it).
    pub fn simulation(&self, beside: bool) -> Result<Simulation, SimError> {
        let mut sim = Simulation::new(self.scenario, self.params(beside)?)?;
        sim.record();
        Ok(sim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks a chapter as a reader who presses Continue as soon as it is offered,
    /// playing the simulation in 100 ms steps at most `limit_ms` per step.
    fn walk(chapter: &Chapter, limit_ms: u64) -> Simulation {
        let mut sim = chapter.simulation(false).expect("the chapter's simulation");
        for (i, step) in chapter.steps.iter().enumerate() {
            step.act.perform(&mut sim);
            let mark = step.cue.mark(&sim);
            let start = sim.now().as_millis();
            while !step.cue.met(&sim, &mark) {
                assert!(
                    sim.now().as_millis() - start <= limit_ms,
                    "{}: step {} never reached its cue {:?}",
                    chapter.title,
                    i + 1,
                    step.cue
                );
                sim.run_for(100);
            }
        }
        sim
    }

    #[test]
    fn every_chapter_can_be_walked_from_start_to_end() {
        for chapter in &CHAPTERS {
            let sim = walk(chapter, 30 * 60_000);
            assert_eq!(sim.stats().invariant_violations, 0, "{}", chapter.title);
            assert!(
                matches!(chapter.steps.last().map(|s| s.cue), Some(Cue::TryIt)),
                "{} ends by handing back the controls",
                chapter.title
            );
        }
    }

    #[test]
    fn the_story_is_the_same_every_time() {
        let a = walk(&CHAPTERS[0], 600_000).stats();
        let b = walk(&CHAPTERS[0], 600_000).stats();
        assert_eq!(a, b);
    }

    #[test]
    fn chapter_one_elects_a_new_leader_only_after_the_old_lease_expired() {
        let sim = walk(&CHAPTERS[0], 600_000);
        let events: Vec<_> = sim
            .recent_events()
            .filter(|(_, e)| sim.lease_of(e.key()) == Some(0))
            .map(|(_, e)| e.kind())
            .collect();
        let expired = events
            .iter()
            .position(|k| *k == "expired")
            .expect("the lease expired");
        assert!(events[expired..].contains(&"claimed"), "{events:?}");
    }

    #[test]
    fn a_chapter_is_linked_by_its_number() {
        assert_eq!(linked(&link(4)), Some(4));
        assert_eq!(linked("#/learn/9/"), Some(9));
        assert_eq!(linked("#/learn/x"), None);
        assert_eq!(linked(""), None);
        assert_eq!(linked("#/other"), None);
        assert_eq!(
            refragment(Some(2), "#/learn/1").as_deref(),
            Some("#/learn/2")
        );
        assert_eq!(refragment(Some(2), "#/learn/2"), None);
        assert_eq!(refragment(None, "#/learn/2").as_deref(), Some(""));
        assert_eq!(
            refragment(None, "#/learn/9"),
            None,
            "no such chapter: left alone"
        );
        assert_eq!(refragment(None, ""), None);
    }

    #[test]
    fn chapters_name_parameters_as_the_core_does() {
        for chapter in &CHAPTERS {
            let names = chapter
                .overrides
                .iter()
                .chain(chapter.beside.unwrap_or(&[]));
            for (name, _) in names {
                assert!(
                    leasehold::sim::PARAM_NAMES.contains(name),
                    "{}: {name}",
                    chapter.title
                );
            }
        }
    }

    #[test]
    fn chapter_two_has_a_per_op_store_beside_it() {
        let c = Chapter::number(2).unwrap();
        assert_eq!(c.params(true).unwrap().mode, leasehold::sim::Mode::PerOp);
        assert_eq!(c.params(false).unwrap().mode, leasehold::sim::Mode::Batched);
        assert!(Chapter::number(0).is_none() && Chapter::number(7).is_none());
    }

    #[test]
    fn chapter_three_sheds_claims_without_changing_a_leader() {
        let sim = walk(Chapter::number(3).unwrap(), 30 * 60_000);
        let s = sim.stats();
        assert!(s.claims_shed > 0);
        assert_eq!(s.leader_changes, 0);
        assert_eq!(s.singular_failed, 0);
    }
}
