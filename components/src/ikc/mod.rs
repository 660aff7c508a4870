//! POE::Component::IKC: inter-kernel communication, wire-compatible with
//! Perl's POE::Component::IKC 0.2402.
//!
//! [`Specifier`] and [`Request`] are the addresses and messages,
//! [`negotiation`] the handshake as a pure state machine, and
//! [`ClientLite`] ([`lite`]) a blocking client built on them.

pub mod lite;
mod message;
pub mod negotiation;
mod specifier;

pub use lite::{ClientLite, LiteError};
pub use message::{Request, RequestError, PROXY_STATE};
pub use specifier::Specifier;
