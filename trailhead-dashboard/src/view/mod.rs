//! The pages' HTML, written with `maud` (every value interpolated is
//! escaped): the frame every page shares, and one module per page.

pub(crate) mod health;
pub(crate) mod run;
pub(crate) mod runs;

use maud::{DOCTYPE, Markup, html};
use trailhead_core::store::RunStatus;

use crate::paths::Base;

/// A whole page: `title`, the navigation, `body`.
pub(crate) fn page(base: &Base, title: &str, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · trailhead" }
                link rel="stylesheet" href=(base.asset("style.css"));
                script src=(base.asset("live.js")) defer {}
            }
            body {
                nav {
                    a.brand href=(base.runs()) { "trailhead" }
                    a href=(base.runs()) { "Runs" }
                    a href=(base.health()) { "Health" }
                }
                main { (body) }
            }
        }
    }
}

/// A run status as a coloured badge.
pub(crate) fn status(status: RunStatus) -> Markup {
    html! { span class={ "status status-" (status.name()) } { (status.name()) } }
}
