//! The tools around the protocol library: the command line, the local
//! launcher, the benchmark and the soak. They use the library from outside
//! (`blackboard::...`); nothing in the library uses them.

pub mod bench;
pub mod cli;
// The process tests include the harness too and use parts the tools do not.
pub mod cluster;
#[allow(dead_code)]
pub mod harness;
pub mod soak;
