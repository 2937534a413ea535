//! blackboard: a distributed blackboard. Nodes elect a leader (bully over a
//! random attribute), the leader orders every add, modify and delete, and every
//! node applies them in that one order. UDP inside, HTTP outside.
//!
//! - [`wire`]: the datagrams and their encoding;
//! - [`board`]: the replicated state (entries, and which requests it holds);
//! - [`log`]: the ordered, compacted log;
//! - [`core`]: the protocol as a sans-IO state machine;
//! - [`sim`]: a deterministic network of cores for tests and measurements;
//! - [`http`], [`answers`]: the HTTP front end's routes and its JSON answers;
//! - [`node`]: the driver, one mio event loop around a core, with
//!   [`feed`] (`/changes`), [`timeline`] (`/events`), [`fault`] (demo
//!   faults), [`form`] (request bodies) and [`linger`] (closing sockets);
//! - [`words`]: counts in words for the logs.
//!
//! The tools (command line, launcher, benchmark, soak) are not part of the
//! library: they live in the binary (`src/tools`) and use it from outside.

pub mod answers;
pub mod board;
pub mod core;
pub mod fault;
pub mod feed;
pub mod form;
pub mod http;
pub mod linger;
pub mod log;
pub mod node;
pub mod sim;
pub mod timeline;
pub mod wire;
pub mod words;
