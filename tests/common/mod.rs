//! Helpers for the client's integration tests: the shared ones of `coreweave-test-support`
//! (in-process mocks, a raw stub with a token).
#![allow(unused_imports)]

pub use coreweave_test_support::*;
