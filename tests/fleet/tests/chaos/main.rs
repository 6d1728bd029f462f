//! The fleet chaos tests: worker processes (this test binary re-run with a
//! filter naming `chaos::child_process_entry`, see [`support::child`]) share
//! one store, SQLite or PostgreSQL, while they are SIGKILLed and SIGSTOPped.
//! Apart from the crash tests so that PostgreSQL's driver is built only for
//! the tests that need it (the facade's dev-dependencies are also copied
//! into trybuild's project for the compile-fail cases).

mod support;

mod chaos;
