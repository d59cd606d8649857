//! The keyboard help.

use crate::hooks::use_dispatch;
use crate::hooks::use_keyboard::SHORTCUTS;
use crate::state::Action;
use yew::prelude::*;

/// The list of shortcuts, over the dashboard.
#[component]
pub fn Help() -> Html {
    let dispatch = use_dispatch();
    let close = Callback::from(move |_: MouseEvent| dispatch.dispatch(Action::ToggleHelp));
    html! {
        <div class="overlay" data-testid="help" onclick={close}>
            <div class="dialog">
                <h2>{ "Keyboard" }</h2>
                <dl class="shortcuts">
                    { for SHORTCUTS.iter().map(|(k, what)| html! {
                        <><dt><kbd>{ *k }</kbd></dt><dd>{ *what }</dd></>
                    }) }
                </dl>
                <p class="hint">{ "Click a lease to select it; pin, revoke and crash act on the selected lease. \
                    Click a batch to see its operations and the answer each got. \
                    Drag the timeline to see any earlier moment; play continues from there to the head. \
                    The Learn menu opens guided chapters: → continues once the story reaches its moment, \
                    ← goes back to the previous step (the simulation is not rewound)." }</p>
            </div>
        </div>
    }
}
