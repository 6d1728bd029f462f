//! Nothing here: the tests in `tests/` are this crate (`chaos/`: worker
//! processes SIGKILLed and SIGSTOPped on one store; `postgres.rs`: a
//! PostgreSQL fleet woken by notices; `resources.rs`: named resources held
//! across a PostgreSQL fleet).
