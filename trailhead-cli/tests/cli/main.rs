//! The `trailhead` binary run against stores the tests fill by running real
//! workflows.

mod act;
mod debug;
mod export;
mod fork;
mod help;
mod inspect;
mod listing;
mod postgres;
mod readme_dashboard;
mod serve;
mod show;
mod stores;
mod support;
mod timeline;
mod watch;
