//! Keyboard shortcuts: space plays or pauses, → steps one batch, ← goes back one
//! batch (in a chapter: Continue and Back), + and − change the speed, End returns to
//! the head, e exports, ? shows help, Esc closes. Keys typed into a field are left
//! alone.

use crate::state::playback::PlaybackAction;
use crate::state::timeline::TimelineAction;
use crate::state::{Action, Dispatch};
use gloo::events::{EventListener, EventListenerOptions};
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Every shortcut: the key as shown and what it does.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("space", "play / pause"),
    ("→", "step one batch; in a chapter, continue"),
    ("←", "back one batch (timeline); in a chapter, back"),
    ("+ / −", "faster / slower (×2)"),
    ("End", "back to the head of the log (live)"),
    ("e", "export the log"),
    ("?", "this help"),
    ("Esc", "close help, batch detail, notice"),
];

/// The action of a key, if it has one.
#[must_use]
pub fn action_of(key: &str) -> Option<Action> {
    Some(match key {
        " " | "Spacebar" => Action::Playback(PlaybackAction::TogglePlay),
        "ArrowRight" => Action::Next,
        "ArrowLeft" => Action::Previous,
        "+" | "=" => Action::Playback(PlaybackAction::Notch(true)),
        "-" | "_" => Action::Playback(PlaybackAction::Notch(false)),
        "End" | "l" => Action::Timeline(TimelineAction::ToHead),
        "e" => Action::Timeline(TimelineAction::Export),
        "?" => Action::ToggleHelp,
        "Escape" => Action::Dismiss,
        _ => return None,
    })
}

/// Listens for the shortcuts on the document while the app is mounted.
#[hook]
pub fn use_keyboard(dispatch: Dispatch) {
    use_effect_with((), move |()| {
        let document = gloo::utils::document();
        let options = EventListenerOptions::enable_prevent_default();
        let listener = EventListener::new_with_options(&document, "keydown", options, move |e| {
            let Some(e) = e.dyn_ref::<KeyboardEvent>() else {
                return;
            };
            if e.ctrl_key() || e.meta_key() || e.alt_key() {
                return;
            }
            let target = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok());
            let tag = target.as_ref().map(|el| el.tag_name());
            if matches!(tag.as_deref(), Some("INPUT" | "SELECT" | "TEXTAREA")) {
                return;
            }
            if let Some(action) = action_of(&e.key()) {
                e.prevent_default();
                // A focused button would also "click" on space: let go of it.
                if let (Some("BUTTON"), Some(el)) = (tag.as_deref(), &target) {
                    let _ = el.blur();
                }
                dispatch.dispatch(action);
            }
        });
        move || drop(listener)
    });
}
