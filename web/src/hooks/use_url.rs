//! The URL follows the state: its query reproduces the run on screen
//! (`?scenario=ps45&seed=3&leases=20`, replacing the entry), its fragment names the
//! chapter on screen (`#/learn/N`, a new history entry, so that back returns to it).

use crate::learn;
use crate::page;
use yew::prelude::*;

/// Keeps the URL's query at `query` and its fragment at the chapter `chapter`.
#[hook]
pub fn use_url(query: String, chapter: Option<usize>) {
    use_effect_with((query, chapter), |(query, chapter)| {
        if let Some(fragment) = learn::refragment(*chapter, &page::hash()) {
            page::set_hash(&fragment);
        }
        if page::query() != *query {
            page::set_query(query);
        }
    });
}
