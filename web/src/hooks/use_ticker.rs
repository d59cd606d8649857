//! The ticker: while playing, an action every 100 ms. The interval belongs to the
//! effect and is cancelled (dropped) when playing stops or the app unmounts.

use crate::state::{Action, Dispatch, TICK_MS};
use gloo::timers::callback::Interval;
use yew::prelude::*;

/// Dispatches [`Action::Tick`] every [`TICK_MS`] while `playing`.
#[hook]
pub fn use_ticker(playing: bool, dispatch: Dispatch) {
    use_effect_with(playing, move |&playing| {
        let interval =
            playing.then(|| Interval::new(TICK_MS as u32, move || dispatch.dispatch(Action::Tick)));
        move || drop(interval)
    });
}
