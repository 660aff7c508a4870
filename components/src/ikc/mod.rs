//! POE::Component::IKC: inter-kernel communication, wire-compatible with
//! Perl's POE::Component::IKC 0.2402.

mod message;
pub mod negotiation;
mod specifier;

pub use message::{Request, RequestError, PROXY_STATE};
pub use specifier::Specifier;
