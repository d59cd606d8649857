//! The ticker: while playing, every 100 ms the session advances by the wall-clock time
//! since the last tick × the speed, and the reducer gets the new scene. The interval
//! belongs to the effect and is cancelled (dropped) when playing stops, the speed
//! changes or the app unmounts.

use super::use_session::SessionRef;
use crate::model::session::TICK_MS;
use crate::page;
use crate::state::{Action, Dispatch};
use gloo::timers::callback::Interval;
use yew::prelude::*;

/// Advances the session every [`TICK_MS`] while `playing`.
#[hook]
pub fn use_ticker(playing: bool, speed: f64, session: SessionRef, dispatch: Dispatch) {
    use_effect_with((playing, speed), move |&(playing, speed)| {
        let interval = playing.then(|| {
            let mut last: Option<f64> = None;
            Interval::new(TICK_MS as u32, move || {
                let now = page::now_ms();
                let wall = last.map_or(TICK_MS, |t| (now - t).clamp(0.0, 2.5 * TICK_MS));
                last = Some(now);
                let update = session.borrow_mut().tick(wall * speed, &page::now_ms);
                dispatch.dispatch(Action::Updated(update));
            })
        });
        move || drop(interval)
    });
}
