//! Fault injection: in the store and the journal (`store`), and in the steps
//! themselves (`steps`).

mod steps;
mod store;
