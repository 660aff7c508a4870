//! # poe-components
//!
//! POE's components as state-machine sessions on the poe-rs kernel:
//! [`tcp::Server`] (POE::Component::Server::TCP) and [`tcp::Client`]
//! (POE::Component::Client::TCP), built on SocketFactory and ReadWrite
//! exactly as in POE; and the IKC protocol layer with
//! [`ikc::ClientLite`], the blocking IKC client for scripts.

#![deny(missing_docs)]

pub mod ikc;
pub mod tcp;
