//! Closes the measurement of a tick once it is drawn: the effect runs after the
//! render the tick caused; it asks for the page's layout first (which the browser would
//! otherwise do a moment later), so the cost includes the simulation, the ledger, the
//! scene, the reducer, Yew's diff, the DOM updates, style and layout. Only painting is
//! left out.

use super::use_session::SessionRef;
use crate::page;
use yew::prelude::*;

/// After every render, finishes the tick being measured (if one is).
#[hook]
pub fn use_tick_cost(session: SessionRef) {
    use_effect(move || {
        let mut session = session.borrow_mut();
        let meter = session.meter_mut();
        if meter.measuring() {
            page::settle_layout();
            meter.finish(page::now_ms());
        }
    });
}
