//! The dashboard: owns the state, the ticker, the keyboard and the URL's fragment, lays
//! out the views; a guided chapter's narration (and chapter 2's side by side) shows
//! above them.

use super::batch_detail::BatchDetail;
use super::batch_list::BatchList;
use super::chapter_panel::ChapterPanel;
use super::charts::Charts;
use super::event_log::EventLog;
use super::header::Header;
use super::help::Help;
use super::invariant_monitor::InvariantMonitor;
use super::lease_actions::LeaseActions;
use super::lease_table::LeaseTable;
use super::notice::Notice;
use super::queue_view::QueueView;
use super::side_by_side::SideBySide;
use super::timeline::Timeline;
use super::transport::Transport;
use crate::hooks::{use_hash, use_keyboard, use_tick_cost, use_ticker};
use crate::state::{Dispatch, State};
use yew::prelude::*;

/// The whole dashboard.
#[component]
pub fn App() -> Html {
    let state = use_reducer(State::from_url);
    let dispatch = state.dispatcher();
    use_ticker(state.playing, dispatch.clone());
    use_keyboard(dispatch.clone());
    use_hash(dispatch.clone());
    use_tick_cost(state.run());
    let run = state.run();
    let stamps = run.borrow().stamps();
    let chapter = state.guide.as_ref().map(|g| g.number());
    let side_by_side = state.side_by_side();
    html! {
        <ContextProvider<Dispatch> context={dispatch}>
            <div class="app">
                <Header run={state.run_at(stamps.log)} chapter={chapter} />
                if let Some(guide) = state.guide.clone() {
                    <div class={classes!("learn", side_by_side.is_some().then_some("with-side"))}>
                        <ChapterPanel guide={guide} playing={state.playing} />
                        if let Some(runs) = side_by_side {
                            <SideBySide runs={runs} />
                        }
                    </div>
                }
                <Notice notice={state.notice.clone()} />
                <Transport run={run.clone()} playing={state.playing} speed={state.speed} />
                <Timeline run={state.run_at(stamps.log)} />
                <InvariantMonitor run={state.run_at(stamps.invariants)} />
                <main class="views">
                    <section class="panel leases">
                        <LeaseTable
                            run={run.clone()}
                            selected={state.selected.clone()}
                            sort={state.sort}
                            filter={state.filter.clone()}
                            scroll={state.scroll}
                        />
                        <LeaseActions run={run.clone()} selected={state.selected.clone()} />
                    </section>
                    <section class="panel side">
                        <QueueView run={state.run_at(stamps.queue)} />
                        <BatchList run={state.run_at(stamps.log)} open={state.open_batch} />
                    </section>
                    <section class="panel charts-panel">
                        <Charts run={state.run_at(stamps.charts)} />
                    </section>
                    <section class="panel events">
                        <EventLog run={state.run_at(stamps.events)} filter={state.event_filter.clone()} />
                    </section>
                </main>
                if let Some(seq) = state.open_batch {
                    <BatchDetail run={state.run_at(stamps.log)} seq={seq} />
                }
                if state.help {
                    <Help />
                }
            </div>
        </ContextProvider<Dispatch>>
    }
}
