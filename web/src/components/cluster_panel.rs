//! The attached cluster: every member with its role, term and log indexes, the
//! leader, the node the watch reads from and what it delivered (batches, duplicates
//! skipped, gaps where the log was compacted past the last index seen).

use crate::model::scene::ClusterScene;
use std::rc::Rc;
use yew::prelude::*;

/// The panel's properties.
#[derive(Properties, PartialEq)]
pub struct ClusterPanelProps {
    /// The cluster.
    pub cluster: Rc<ClusterScene>,
}

/// The cluster panel.
#[component]
pub fn ClusterPanel(props: &ClusterPanelProps) -> Html {
    let c = &props.cluster;
    let f = &c.feed;
    let opt = |v: Option<u64>| v.map_or_else(String::new, |v| v.to_string());
    let watched = c.watched.1;
    let rows = c.nodes.iter().map(|n| {
        let leader = c.leader == Some(n.id);
        html! {
            <tr key={n.id} data-testid="cluster-node" data-id={n.id.to_string()} data-role={n.role.clone()}
                data-commit={n.commit.to_string()} data-applied={n.applied.to_string()}
                class={classes!(n.role.clone(), leader.then_some("leader"))}>
                <td class="num">{ n.id }</td>
                <td>{ &n.addr }</td>
                <td>
                    { &n.role }
                    if leader { <span class="leader-mark" data-testid="cluster-leader" data-id={n.id.to_string()}>{ " ★ leader" }</span> }
                    if !n.voter { <span class="hint">{ " (learner)" }</span> }
                </td>
                <td class="num">{ n.term }</td>
                <td class="num">{ n.commit }</td>
                <td class="num">{ n.applied }</td>
                <td>{ if watched == Some(n.id) { "◉ watched" } else { "" } }</td>
            </tr>
        }
    });
    let gaps = f.gaps.iter().map(|g| html! {
        <li data-testid="feed-gap" data-from={g.from.to_string()} data-to={g.to.to_string()}>
            { format!("indexes {} to {} not seen (compacted away); reloaded that node's state", g.from, g.to) }
        </li>
    });
    html! {
        <div class="cluster" data-testid="cluster-panel">
            <h2>{ "Cluster" }<span class="hint">{ format!(" {}", c.origin) }</span></h2>
            <table class="cluster-nodes">
                <thead><tr>
                    <th class="num">{ "id" }</th><th>{ "address" }</th><th>{ "role" }</th>
                    <th class="num">{ "term" }</th><th class="num">{ "commit" }</th><th class="num">{ "applied" }</th><th />
                </tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
            if c.nodes.is_empty() {
                <p class="hint">{ "Asking the cluster for its members…" }</p>
            }
            <p class="feed" data-testid="attach-state" data-state={c.link} data-url={c.watched.0.clone()}
                data-node={opt(watched)} data-first-index={opt(f.first_index)} data-last-index={opt(f.last_index)}
                data-batches={f.batches.to_string()} data-duplicates={f.duplicates.to_string()}
                data-gaps={f.gaps.len().to_string()} data-reconnects={c.reconnects.to_string()}
                data-losses={c.losses.join(" | ")}>
                { format!("watch {}: {} batches since index {}, last index {} · {} duplicates skipped · {} reconnections",
                    c.link, f.batches, opt(f.first_index), opt(f.last_index), f.duplicates, c.reconnects) }
            </p>
            if !c.losses.is_empty() {
                <ul class="losses hint">
                    { for c.losses.iter().map(|l| html! { <li>{ format!("watch lost: {l}") }</li> }) }
                </ul>
            }
            if !f.gaps.is_empty() { <ul class="gaps">{ for gaps }</ul> }
            if let Some(p) = &c.problem { <p class="hint problem">{ p }</p> }
        </div>
    }
}
