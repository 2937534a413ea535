//! Unit tests of the core through the simulator: small, scripted stories.
