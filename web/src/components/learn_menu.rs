//! The header's "Learn" menu: a link to every guided chapter (`#/learn/N`).

use crate::learn::{CHAPTERS, link};
use yew::prelude::*;

/// The menu's properties.
#[derive(Properties, PartialEq)]
pub struct LearnMenuProps {
    /// The chapter being read, if any.
    pub current: Option<usize>,
}

/// A drop-down list of the chapters; following a link closes it.
#[component]
pub fn LearnMenu(props: &LearnMenuProps) -> Html {
    let details = use_node_ref();
    let close = {
        let details = details.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(el) = details.cast::<web_sys::Element>() {
                let _ = el.remove_attribute("open");
            }
        })
    };
    html! {
        <details class="learn-menu" data-testid="learn-menu" ref={details}>
            <summary title="guided chapters: short stories told by the simulator">{ "Learn ▾" }</summary>
            <ol onclick={close}>
                { for CHAPTERS.iter().enumerate().map(|(i, c)| {
                    let n = i + 1;
                    html! {
                        <li>
                            <a href={link(n)} data-testid="learn-link" data-chapter={n.to_string()}
                                class={classes!((props.current == Some(n)).then_some("current"))}>
                                { c.title }
                            </a>
                        </li>
                    }
                }) }
            </ol>
        </details>
    }
}
