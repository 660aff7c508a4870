//! Helpers shared by the IKC integration tests: the wire transcript
//! fixture and a scriptable fake IKC server.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

pub mod json;
pub mod server;
pub mod transcript;
