//! The dashboard: takes its state from [`use_dashboard`](fn@use_dashboard) and lays out the views, each
//! drawn from its part of the scene; a guided chapter's narration (and chapter 2's
//! side by side) shows above them. Attached to a live cluster, the cluster panel and
//! the live bar take the transport's and the timeline's place.

use super::batch_detail::BatchDetail;
use super::batch_list::BatchList;
use super::chapter_panel::ChapterPanel;
use super::charts::Charts;
use super::cluster_panel::ClusterPanel;
use super::event_log::EventLog;
use super::header::Header;
use super::help::Help;
use super::invariant_monitor::InvariantMonitor;
use super::lease_actions::LeaseActions;
use super::lease_table::LeaseTable;
use super::live_actions::LiveActions;
use super::live_bar::LiveBar;
use super::notice::Notice;
use super::queue_view::QueueView;
use super::side_by_side::SideBySide;
use super::timeline::Timeline;
use super::transport::Transport;
use crate::hooks::use_dashboard;
use crate::state::Dispatch;
use yew::prelude::*;

/// The whole dashboard.
#[component]
pub fn App() -> Html {
    let state = use_dashboard();
    let scene = &state.scene;
    let (playing, speed) = (state.playback.playing, state.playback.speed);
    let table = &state.table;
    let clock = scene.clock.clone();
    html! {
        <ContextProvider<Dispatch> context={state.dispatcher()}>
            <div class="app">
                <Header source={scene.source.clone()} chapter={state.chapter()} />
                if let Some(chapter) = scene.chapter.clone() {
                    <div class={classes!("learn", chapter.side_by_side.is_some().then_some("with-side"))}>
                        <ChapterPanel guide={chapter.guide.clone()} playing={playing} />
                        if let Some(runs) = chapter.side_by_side.clone() {
                            <SideBySide runs={runs} />
                        }
                    </div>
                }
                <Notice notice={state.notice.clone()} />
                if let Some(cluster) = scene.cluster.clone() {
                    <LiveBar clock={clock.clone()} cluster={cluster.clone()} />
                    <ClusterPanel cluster={cluster} />
                } else {
                    <Transport clock={clock.clone()} playing={playing} speed={speed} />
                    <Timeline timeline={scene.timeline.clone()} />
                }
                <InvariantMonitor invariants={scene.invariants.clone()} />
                <main class="views">
                    <section class="panel leases">
                        <LeaseTable
                            table={scene.table.clone()}
                            selected={table.selected.clone()}
                            sort={table.sort}
                            filter={table.filter.clone()}
                            scroll={table.scroll}
                        />
                        if scene.cluster.is_some() {
                            <LiveActions selected={scene.selected.clone()} has_token={state.token.is_some()} />
                        } else {
                            <LeaseActions selected={scene.selected.clone()} can_act={clock.can_act}
                                narrated={clock.narrated} />
                        }
                    </section>
                    <section class="panel side">
                        <QueueView queue={scene.queue.clone()} />
                        <BatchList batches={scene.batches.clone()} open={state.timeline.open_batch} />
                    </section>
                    <section class="panel charts-panel">
                        <Charts charts={scene.charts.clone()} />
                    </section>
                    <section class="panel events">
                        <EventLog events={scene.events.clone()} filter={table.event_filter.clone()} />
                    </section>
                </main>
                if let Some(detail) = scene.detail.clone() {
                    <BatchDetail detail={detail} />
                }
                if state.help {
                    <Help />
                }
            </div>
        </ContextProvider<Dispatch>>
    }
}
