//! POE::Component::IKC: inter-kernel communication, wire-compatible with
//! Perl's POE::Component::IKC 0.2402.

mod channel;
mod client;
mod link;
mod message;
pub mod negotiation;
mod proxy;
mod responder;
mod server;
mod settings;
mod specifier;

pub use message::{Request, RequestError, PROXY_STATE};
pub use specifier::Specifier;

pub use channel::{Channel, ConnectCallback, ErrorCallback};
pub use client::{Client, ClientBuilder};
pub use responder::IKC_ALIAS;
pub use server::{Listening, Server, ServerBuilder};
pub use settings::{DEFAULT_MAX_FRAME, DEFAULT_NEGOTIATION_TIMEOUT};
