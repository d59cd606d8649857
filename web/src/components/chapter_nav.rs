//! A chapter's way on: Back, what the story waits for, Continue (→, or at the end the
//! next chapter), and a way out to the dashboard.

use crate::hooks::use_dispatch;
use crate::learn::{Chapter, Cue, Guide};
use crate::state::Action;
use crate::state::chapter::ChapterAction;
use yew::prelude::*;

/// The navigation's properties.
#[derive(Properties, PartialEq)]
pub struct ChapterNavProps {
    /// The reader's place in the chapter.
    pub guide: Guide,
    /// Whether the simulation plays.
    pub playing: bool,
}

/// Back, the waiting indicator, Continue and "leave chapter".
#[component]
pub fn ChapterNav(props: &ChapterNavProps) -> Html {
    let dispatch = use_dispatch();
    let on = |a: Action| {
        let d = dispatch.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(a.clone()))
    };
    let guide = &props.guide;
    let last = guide.position() == guide.steps();
    let next = Chapter::number(guide.number() + 1);
    let (label, title) = match (last, next) {
        (false, _) => ("continue →".to_owned(), "the next step (→)".to_owned()),
        (true, Some(c)) => (
            format!("next chapter: {} →", c.title),
            "on to the next chapter (→)".to_owned(),
        ),
        (true, None) => (
            "back to the dashboard →".to_owned(),
            "the last chapter is over (→)".to_owned(),
        ),
    };
    let waiting = guide.awaited().filter(|_| !guide.can_continue());
    let try_it = guide.step().cue == Cue::TryIt;
    html! {
        <div class="chapter-nav">
            <button data-testid="chapter-back" disabled={!guide.can_go_back()}
                onclick={on(Action::Chapter(ChapterAction::Back))} title="the previous step (←); the simulation is not rewound">
                { "← back" }
            </button>
            if let Some(cue) = waiting {
                <span class="waiting" data-testid="chapter-waiting" role="status">
                    <span class={classes!("spinner", (!props.playing).then_some("stopped"))} />
                    { format!("waiting for: {}…", cue.waiting_for()) }
                    if !props.playing {
                        <span class="hint">{ " (paused: press ▶ play to go on)" }</span>
                    }
                </span>
            } else if try_it {
                <span class="waiting yours" data-testid="chapter-waiting">
                    { "the controls are yours" }
                </span>
            }
            <button data-testid="chapter-next" class="continue" disabled={!guide.can_continue()}
                onclick={on(Action::Chapter(ChapterAction::Continue))} title={title}>
                { label }
            </button>
            <button data-testid="chapter-leave" class="leave" onclick={on(Action::Chapter(ChapterAction::Leave))}
                title="leave the chapter: its simulation stays on the dashboard">
                { "leave chapter ✕" }
            </button>
        </div>
    }
}
