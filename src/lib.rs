//! blackboard: a distributed blackboard. Nodes elect a leader (bully over a
//! random attribute), the leader orders every add, modify and delete, and every
//! node applies them in that one order. UDP inside, HTTP outside.
//!
//! - [`wire`]: the datagrams and their encoding;
//! - [`board`]: the replicated state (entries, and which requests it holds);
//! - [`log`]: the ordered, compacted log;
//! - [`core`]: the protocol as a sans-IO state machine;
//! - [`sim`]: a deterministic network of cores for tests and measurements;
//! - [`http`], [`json`]: the HTTP front end's routes, forms and answers;
//! - [`node`]: the driver, one mio event loop around a core;
//! - [`cluster`]: local node processes and the launcher; [`cli`]: command
//!   line; [`bench`]: the benchmark;
//! - [`client`]: a minimal HTTP client for the launcher, tests and benchmarks.

pub mod bench;
pub mod board;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod core;
pub mod fault;
pub mod feed;
pub mod form;
pub mod http;
pub mod json;
pub mod linger;
pub mod log;
pub mod node;
pub mod sim;
pub mod soak;
pub mod timeline;
pub mod wire;
