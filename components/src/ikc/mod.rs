//! POE::Component::IKC: inter-kernel communication, wire-compatible with
//! Perl's POE::Component::IKC 0.2402.

pub mod lite;
mod message;
pub mod negotiation;
mod specifier;

pub use lite::{ClientLite, LiteError};
pub use message::{Request, RequestError, PROXY_STATE};
pub use specifier::Specifier;
