//! Custom hooks: the session (the run, owned outside the reducer's state) and the
//! performing of the commands the reducer queues, the ticker, the connections to an
//! attached cluster and the operator's requests to it, the tick meter, the URL, the
//! keyboard, the browser's back and forward, and the dispatcher.

pub mod use_attach;
pub mod use_calls;
pub mod use_dashboard;
pub mod use_dispatch;
pub mod use_hash;
pub mod use_keyboard;
pub mod use_requests;
pub mod use_session;
pub mod use_tick_cost;
pub mod use_ticker;
pub mod use_toggle;
pub mod use_url;

pub use use_attach::use_attach;
pub use use_dashboard::use_dashboard;
pub use use_dispatch::use_dispatch;
pub use use_hash::use_hash;
pub use use_keyboard::use_keyboard;
pub use use_requests::use_requests;
pub use use_session::use_session;
pub use use_tick_cost::use_tick_cost;
pub use use_ticker::use_ticker;
pub use use_toggle::use_toggle;
pub use use_url::use_url;
