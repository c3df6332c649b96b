//! Helpers for the mock's integration tests: the shared ones of `coreweave-test-support`,
//! request bodies, and the mock binary as a child process.
#![allow(dead_code, unused_imports)]

pub mod bodies;
pub mod process;

pub use coreweave_test_support::*;
