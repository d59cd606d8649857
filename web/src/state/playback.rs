//! Playback: play and pause, the speed, one step.

use crate::model::session::Command;
use crate::model::speed;

/// Whether the run plays, and how fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Playback {
    /// Whether the ticker runs.
    pub playing: bool,
    /// Simulated time per wall-clock time.
    pub speed: f64,
}

impl Default for Playback {
    fn default() -> Playback {
        Playback {
            playing: false,
            speed: 1.0,
        }
    }
}

/// What the transport does.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaybackAction {
    /// Play or pause.
    TogglePlay,
    /// Pause.
    Pause,
    /// Set the speed.
    SetSpeed(f64),
    /// Twice as fast (`true`) or half as fast.
    Notch(bool),
    /// Pause and run until the next batch.
    Step,
}

impl Playback {
    /// Applies `action`; returns what the run must do.
    pub fn reduce(&mut self, action: PlaybackAction) -> Option<Command> {
        match action {
            PlaybackAction::TogglePlay => self.playing = !self.playing,
            PlaybackAction::Pause => self.playing = false,
            PlaybackAction::SetSpeed(v) => self.speed = v.clamp(speed::MIN, speed::MAX),
            PlaybackAction::Notch(up) => self.speed = speed::notch(self.speed, up),
            PlaybackAction::Step => {
                self.playing = false;
                return Some(Command::Step);
            }
        }
        None
    }
}
