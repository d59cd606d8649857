//! Play, pause, step one batch, the logarithmic speed slider, load up and down, the
//! simulated time and the page's own cost per tick.

use super::tick_cost::TickCost;
use crate::hooks::use_dispatch;
use crate::model::scene::ClockScene;
use crate::model::speed;
use crate::state::Action;
use crate::state::operator::OperatorAction;
use crate::state::playback::PlaybackAction;
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The transport's properties.
#[derive(Properties, PartialEq)]
pub struct TransportProps {
    /// Time, load, what the operator may do, the page's cost.
    pub clock: Rc<ClockScene>,
    /// Whether it plays.
    pub playing: bool,
    /// The speed.
    pub speed: f64,
}

/// `83.4 s`, `12 min 05.0 s`.
#[must_use]
pub fn clock(ms: u64) -> String {
    let s = ms as f64 / 1000.0;
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        format!(
            "{} min {:04.1} s",
            ms / 60_000,
            (ms % 60_000) as f64 / 1000.0
        )
    }
}

/// The transport bar.
#[component]
pub fn Transport(props: &TransportProps) -> Html {
    let dispatch = use_dispatch();
    let c = &props.clock;
    let on = |a: Action| {
        let d = dispatch.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(a.clone()))
    };
    let on_speed = {
        let d = dispatch.clone();
        Callback::from(move |e: InputEvent| {
            let p: f64 = e
                .target_unchecked_into::<HtmlInputElement>()
                .value()
                .parse()
                .unwrap_or(0.0);
            d.dispatch(Action::Playback(PlaybackAction::SetSpeed(speed::at(p))));
        })
    };
    let (ms, active, leases, can_act) = (c.time_ms, c.active, c.leases, c.can_act);
    let held = if c.narrated {
        "the chapter's story holds the controls until its \"try it yourself\" step"
    } else {
        ""
    };
    html! {
        <div class="transport">
            <button data-testid="play-pause" data-playing={props.playing.to_string()}
                class={classes!("play", props.playing.then_some("on"))}
                onclick={on(Action::Playback(PlaybackAction::TogglePlay))} title="play / pause (space)">
                { if props.playing { "❚❚ pause" } else { "▶ play" } }
            </button>
            <button data-testid="step" onclick={on(Action::Playback(PlaybackAction::Step))}
                title="run until the next batch (→)" disabled={c.narrated && !c.in_past}>
                { "▶| step" }
            </button>
            <label class="speed" title="speed, 0.01× to 100× (+ / −)">
                { "speed " }
                <input data-testid="speed" type="range" min="-2" max="2" step="0.01"
                    value={format!("{:.2}", speed::position(props.speed))}
                    data-speed={props.speed.to_string()}
                    oninput={on_speed} />
                <span class="speed-label">{ speed::label(props.speed) }</span>
            </label>
            <span class="sim-time" data-testid="sim-time" data-ms={ms.to_string()}
                title="simulated time (log time when replaying)">
                { "t = " }{ clock(ms) }
            </span>
            <TickCost cost={c.cost} />
            <span class="load" title={held}>
                <button data-testid="load-down" disabled={!can_act} onclick={on(Action::Operator(OperatorAction::Load(false)))}
                    title="halve the active leases">{ "load −" }</button>
                <span class="active" data-testid="active-leases" data-active={active.to_string()}>
                    { format!("{active} / {leases} active") }
                </span>
                <button data-testid="load-up" disabled={!can_act} onclick={on(Action::Operator(OperatorAction::Load(true)))}
                    title="double the active leases">{ "load +" }</button>
            </span>
            <button data-testid="engine-restart" disabled={!can_act} onclick={on(Action::Operator(OperatorAction::RestartEngine))}
                title="restart the engine's process: queued requests are answered, every holder reconnects after 5 s">
                { "restart engine" }
            </button>
            <button class="help-button" onclick={on(Action::ToggleHelp)} title="keyboard shortcuts (?)">
                { "?" }
            </button>
        </div>
    }
}
