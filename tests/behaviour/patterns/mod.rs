//! `trailhead::patterns`: every pattern on a paused clock, its failure paths
//! included.

mod approval;
mod batch;
mod chapter;
mod dead_letter;
mod entity;
mod poll;
mod race;
mod rate_limit;
mod request;
mod saga;
mod scatter_gather;
