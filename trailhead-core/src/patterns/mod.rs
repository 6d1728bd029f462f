#![doc = include_str!("../../docs/patterns.md")]

pub mod approval;
pub mod batch;
pub mod dead_letter;
pub mod entity;
pub mod poll;
pub mod race;
pub mod rate_limit;
pub mod request;
pub mod saga;
pub mod scatter_gather;
