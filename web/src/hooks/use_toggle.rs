//! A panel that opens and closes (the pin form): whether it is open, a click that
//! toggles it and a callback that closes it.

use yew::prelude::*;

/// Open, toggle on click, close.
#[hook]
pub fn use_toggle() -> (bool, Callback<MouseEvent>, Callback<()>) {
    let open = use_state(|| false);
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let close = {
        let open = open.clone();
        Callback::from(move |()| open.set(false))
    };
    (*open, toggle, close)
}
