//! The session: the run the dashboard shows (see [`crate::model::session`]), owned by
//! the app for its lifetime, outside the reducer's state.

use crate::model::session::Session;
use crate::page;
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

/// The session, shared by the hooks that move it (never by the state or the views).
pub type SessionRef = Rc<RefCell<Session>>;

/// The session the page's URL opens (`?scenario=…`, `?attach=…`, `#/learn/N`; a page
/// served by a lease service attaches to it), made once.
#[hook]
pub fn use_session() -> SessionRef {
    use_mut_ref(|| Session::from_link(&page::opening_query(), &page::hash()))
}
