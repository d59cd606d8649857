//! The dashboard's components, one function component per file.

pub mod app;
pub mod batch_detail;
pub mod batch_list;
pub mod chapter_nav;
pub mod chapter_panel;
pub mod chart;
pub mod charts;
pub mod event_log;
pub mod expiry_bar;
pub mod header;
pub mod help;
pub mod invariant_monitor;
pub mod learn_menu;
pub mod lease_actions;
pub mod lease_row;
pub mod lease_table;
pub mod log_io;
pub mod notice;
pub mod pin_badge;
pub mod pin_form;
pub mod queue_view;
pub mod scenario_picker;
pub mod side_by_side;
pub mod timeline;
pub mod transport;
