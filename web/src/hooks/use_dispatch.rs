//! The reducer's dispatcher, from the context the app provides.

use crate::state::Dispatch;
use yew::prelude::*;

/// The dispatcher of the dashboard's state.
#[hook]
pub fn use_dispatch() -> Dispatch {
    use_context::<Dispatch>().expect("the app provides the dispatcher")
}
