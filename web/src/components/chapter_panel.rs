//! A guided chapter's narration: its title, where the reader is ("step 2 of 5"), the
//! step's text, and the way on ([`ChapterNav`]).

use super::chapter_nav::ChapterNav;
use crate::learn::Guide;
use yew::prelude::*;

/// The panel's properties.
#[derive(Properties, PartialEq)]
pub struct ChapterPanelProps {
    /// The reader's place in the chapter.
    pub guide: Guide,
    /// Whether the simulation plays.
    pub playing: bool,
}

/// The chapter's narration.
#[component]
pub fn ChapterPanel(props: &ChapterPanelProps) -> Html {
    let guide = &props.guide;
    let (step, steps) = (guide.position(), guide.steps());
    html! {
        <section class="chapter" data-testid="chapter" data-chapter={guide.number().to_string()}
            aria-live="polite">
            <div class="chapter-head">
                <h2 data-testid="chapter-title">{ guide.chapter().title }</h2>
                <span class="chapter-step" data-testid="chapter-step"
                    data-step={step.to_string()} data-steps={steps.to_string()}>
                    { format!("step {step} of {steps}") }
                </span>
                <span class="dots" aria-hidden="true">
                    { for (1..=steps).map(|i| html! {
                        <span class={classes!("dot", (i < step).then_some("done"), (i == step).then_some("now"))} />
                    }) }
                </span>
            </div>
            <p class="chapter-text" data-testid="chapter-text">{ guide.step().text }</p>
            <ChapterNav guide={guide.clone()} playing={props.playing} />
        </section>
    }
}
