//! Custom hooks: the ticker, the keyboard, the URL's fragment, the page's cost meter and
//! the dispatcher.

pub mod use_dispatch;
pub mod use_hash;
pub mod use_keyboard;
pub mod use_tick_cost;
pub mod use_ticker;

pub use use_dispatch::use_dispatch;
pub use use_hash::use_hash;
pub use use_keyboard::use_keyboard;
pub use use_tick_cost::use_tick_cost;
pub use use_ticker::use_ticker;
