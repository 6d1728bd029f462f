//! Fallbacks: a step that fails for good gives a value instead (`values`) or
//! degrades to another step (`steps`).

mod steps;
mod values;
