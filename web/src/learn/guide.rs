//! Where a reader is in a chapter: the step on screen, the furthest step begun, and
//! whether that step's cue was met.
//!
//! The reader's way through a chapter is plain data over the chapter's [`Simulation`]:
//! [`Guide::open`] begins step 1, [`Guide::watch`] is asked after the simulation moves
//! (the dashboard asks every 100 simulated ms, as the native walk does, so the story is
//! the same for every reader), [`Guide::forward`] is Continue and [`Guide::back`] is
//! Back. Back only shows earlier narration again: the simulation is not rewound, and
//! Continue then walks through the steps already read back to where the story stopped,
//! without performing their acts a second time.

use super::{CHAPTERS, Chapter, Cue, Mark, Step};
use leasehold::sim::Simulation;

/// How much simulated time the simulation moves between two looks at the cue (ms).
pub const QUANTUM_MS: u64 = 100;

/// A reader's place in a chapter.
#[derive(Debug, Clone, PartialEq)]
pub struct Guide {
    /// The chapter's number, from 1 (an existing chapter's).
    number: usize,
    /// The furthest step begun (its act performed, its mark taken), from 0.
    reached: usize,
    /// The step on screen, from 0 (at most `reached`).
    shown: usize,
    mark: Mark,
    met: bool,
}

/// What Continue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// Nothing: the cue is still awaited.
    Wait,
    /// Showed a step already begun again (after Back).
    Reread,
    /// Began the next step: performed its act and took its mark.
    Began,
    /// The chapter is over: on to this chapter, or back to the dashboard with `None`.
    Finished(Option<usize>),
}

impl Guide {
    /// Opens chapter `number` (from 1) on `sim`, a fresh simulation of it, and begins
    /// its first step.
    #[must_use]
    pub fn open(number: usize, sim: &mut Simulation) -> Option<Guide> {
        Chapter::number(number)?;
        let mut guide = Guide {
            number,
            reached: 0,
            shown: 0,
            mark: Mark::default(),
            met: false,
        };
        guide.begin(sim);
        Some(guide)
    }

    fn begin(&mut self, sim: &mut Simulation) {
        let step = &self.chapter().steps[self.reached];
        step.act.perform(sim);
        self.mark = step.cue.mark(sim);
        self.met = step.cue.met(sim, &self.mark);
    }

    // ---- reads -------------------------------------------------------------------

    /// The chapter's number, from 1.
    #[must_use]
    pub fn number(&self) -> usize {
        self.number
    }

    /// The chapter.
    #[must_use]
    pub fn chapter(&self) -> &'static Chapter {
        &CHAPTERS[self.number - 1]
    }

    /// The step on screen.
    #[must_use]
    pub fn step(&self) -> &'static Step {
        &self.chapter().steps[self.shown]
    }

    /// The step on screen's number within the chapter, from 1.
    #[must_use]
    pub fn position(&self) -> usize {
        self.shown + 1
    }

    /// How many steps the chapter has.
    #[must_use]
    pub fn steps(&self) -> usize {
        self.chapter().steps.len()
    }

    /// The cue the story waits for, if it waits: the furthest step's, while unmet.
    #[must_use]
    pub fn awaited(&self) -> Option<Cue> {
        (!self.met).then_some(self.chapter().steps[self.reached].cue)
    }

    /// Whether the simulation should play by itself: the step on screen is the
    /// furthest one and the story waits for it to reach its cue.
    #[must_use]
    pub fn plays(&self) -> bool {
        self.shown == self.reached && !self.met && self.awaited().is_some_and(Cue::plays)
    }

    /// Whether Continue is offered.
    #[must_use]
    pub fn can_continue(&self) -> bool {
        self.shown < self.reached || self.met
    }

    /// Whether Back is offered.
    #[must_use]
    pub fn can_go_back(&self) -> bool {
        self.shown > 0
    }

    /// Whether the controls are the reader's: the story reached its "try it yourself"
    /// step.
    #[must_use]
    pub fn hands_over(&self) -> bool {
        self.chapter().steps[self.reached].cue == Cue::TryIt
    }

    // ---- moving ------------------------------------------------------------------

    /// Looks at `sim` for the awaited cue; returns whether it was met just now.
    pub fn watch(&mut self, sim: &Simulation) -> bool {
        if self.met {
            return false;
        }
        self.met = self.chapter().steps[self.reached].cue.met(sim, &self.mark);
        self.met
    }

    /// Continue: the next step (beginning it on `sim` if it was not yet), or the end
    /// of the chapter.
    pub fn forward(&mut self, sim: &mut Simulation) -> Forward {
        if !self.can_continue() {
            return Forward::Wait;
        }
        if self.shown < self.reached {
            self.shown += 1;
            return Forward::Reread;
        }
        if self.reached + 1 == self.steps() {
            let next = self.number + 1;
            return Forward::Finished(Chapter::number(next).map(|_| next));
        }
        self.reached += 1;
        self.shown = self.reached;
        self.begin(sim);
        Forward::Began
    }

    /// Back: the previous step's narration (the simulation stays where it is).
    /// Returns whether there was one.
    pub fn back(&mut self) -> bool {
        let moved = self.can_go_back();
        self.shown = self.shown.saturating_sub(usize::from(moved));
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader who presses Continue as soon as it is offered, the simulation moving
    /// by [`QUANTUM_MS`] while the story waits, as the dashboard does.
    fn read(number: usize) -> Simulation {
        let chapter = Chapter::number(number).unwrap();
        let mut sim = chapter.simulation(false).unwrap();
        let mut guide = Guide::open(number, &mut sim).unwrap();
        let mut seen = vec![guide.position()];
        loop {
            let start = sim.now().as_millis();
            while !guide.can_continue() {
                assert!(guide.plays(), "{}: a step that waits plays", chapter.title);
                assert!(sim.now().as_millis() - start < 30 * 60_000);
                sim.run_for(QUANTUM_MS);
                guide.watch(&sim);
            }
            assert!(!guide.plays(), "met: the simulation pauses");
            match guide.forward(&mut sim) {
                Forward::Began => seen.push(guide.position()),
                Forward::Finished(next) => {
                    assert_eq!(next, Chapter::number(number + 1).map(|_| number + 1));
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen, (1..=chapter.steps.len()).collect::<Vec<_>>());
        assert!(guide.hands_over());
        sim
    }

    #[test]
    fn every_chapter_is_read_from_start_to_end() {
        for n in 1..=CHAPTERS.len() {
            let sim = read(n);
            assert_eq!(sim.stats().invariant_violations, 0);
        }
    }

    #[test]
    fn a_reader_sees_the_same_story_as_the_native_walk() {
        // The chapters' own walk moves 100 ms at a time too: the same moments.
        let a = read(1).stats();
        let b = read(1).stats();
        assert_eq!(a, b);
        assert_eq!(a.leader_changes, 1);
    }

    #[test]
    fn back_rereads_without_acting_again() {
        let chapter = Chapter::number(1).unwrap();
        let mut sim = chapter.simulation(false).unwrap();
        let mut guide = Guide::open(1, &mut sim).unwrap();
        assert!(!guide.can_go_back() && !guide.can_continue() && guide.plays());
        assert_eq!(guide.forward(&mut sim), Forward::Wait);
        while !guide.watch(&sim) {
            sim.run_for(QUANTUM_MS);
        }
        assert_eq!(guide.forward(&mut sim), Forward::Began);
        assert_eq!((guide.position(), guide.steps()), (2, 5));
        // Step 2 waits for 40 s; Back shows step 1 again, which may be continued.
        assert!(guide.back());
        assert_eq!(guide.position(), 1);
        assert!(
            !guide.plays(),
            "the simulation waits while the reader looks back"
        );
        assert!(!guide.back());
        assert_eq!(guide.forward(&mut sim), Forward::Reread);
        assert!(guide.plays() && guide.awaited() == Some(Cue::At(40_000)));
        sim.run_for(40_000);
        assert!(guide.watch(&sim));
        // Step 3 crashes app-0's leader once, even when read twice.
        let leader = sim.leader_unit(0).unwrap();
        assert_eq!(guide.forward(&mut sim), Forward::Began);
        assert!(!sim.holder_up(0, leader));
        assert!(guide.back());
        assert_eq!(guide.forward(&mut sim), Forward::Reread);
        let up = (0..3).filter(|&u| sim.holder_up(0, u)).count();
        assert_eq!(up, 2, "only one unit crashed");
        assert!(!guide.hands_over());
    }
}
