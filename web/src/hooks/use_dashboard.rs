//! The dashboard's state and everything that keeps it moving: the session (the run,
//! outside the state), the reducer (view state and the scene), the performing of
//! queued commands, the ticker, the connections to an attached cluster, the tick meter,
//! the URL, the keyboard and the browser's back and forward.

use super::use_attach::use_attach;
use super::use_hash::use_hash;
use super::use_keyboard::use_keyboard;
use super::use_requests::use_requests;
use super::use_session::use_session;
use super::use_tick_cost::use_tick_cost;
use super::use_ticker::use_ticker;
use super::use_url::use_url;
use crate::page;
use crate::state::State;
use yew::prelude::*;

/// The dashboard's state, opened from the page's URL and kept moving.
#[hook]
pub fn use_dashboard() -> UseReducerHandle<State> {
    let session = use_session();
    let state = {
        let session = session.clone();
        use_reducer(move || {
            let mut session = session.borrow_mut();
            let opening = session.opening();
            State::new(session.scene(page::now_ms()), opening)
        })
    };
    let dispatch = state.dispatcher();
    use_requests(session.clone(), &state);
    let playback = state.playback;
    use_ticker(
        playback.playing,
        playback.speed,
        session.clone(),
        dispatch.clone(),
    );
    let attached = state.scene.cluster.as_ref().map(|c| c.epoch);
    use_attach(attached, session.clone(), dispatch.clone());
    use_tick_cost(session);
    use_url(state.link(), state.chapter());
    use_keyboard(dispatch.clone());
    use_hash(dispatch);
    state
}
