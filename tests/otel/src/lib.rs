//! Nothing here: the tests are in `tests/`, the example in `examples/`.
