//! Follows the URL's fragment: a link to a chapter (`#/learn/N`), followed or reached
//! with the browser's back and forward, opens it; any other fragment returns to the
//! dashboard. (The page's URL at load is read by the state itself.)

use crate::learn;
use crate::page;
use crate::state::chapter::ChapterAction;
use crate::state::{Action, Dispatch};
use gloo::events::EventListener;
use yew::prelude::*;

/// Dispatches [`ChapterAction::Route`] on every `hashchange` and `popstate` (back and forward
/// across entries whose query differs too fire only the latter) while the app is
/// mounted; routing to the chapter already open does nothing.
#[hook]
pub fn use_hash(dispatch: Dispatch) {
    use_effect_with((), move |()| {
        let window = gloo::utils::window();
        let listeners = ["hashchange", "popstate"].map(|event| {
            let dispatch = dispatch.clone();
            EventListener::new(&window, event, move |_| {
                let linked = learn::linked(&page::hash());
                dispatch.dispatch(Action::Chapter(ChapterAction::Route(linked)));
            })
        });
        move || drop(listeners)
    });
}
