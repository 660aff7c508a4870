//! # poe-wheels
//!
//! POE's wheels: I/O state machines that live inside a session. A wheel
//! registers hidden states in the session that builds it (named as POE
//! names them, `POE::Wheel::ReadWrite(3) -> select read`), watches its
//! descriptors through the kernel, and delivers the session's named events
//! — with the wheel's ID as the last argument — by calling them
//! synchronously, exactly as POE does. Dropping the wheel removes all of it.

#![deny(missing_docs)]

pub mod driver;
mod id;

pub use id::WheelId;
mod error;
mod fd;
mod follow_tail;
mod listen_accept;
mod reader;
mod readwrite;
mod run;
pub mod socket_factory;

pub use error::{errno_text, WheelError};
pub use follow_tail::{FollowTail, FollowTailBuilder, FollowTailEvent};
pub use listen_accept::{ListenAccept, ListenAcceptBuilder};
pub use readwrite::{ReadWrite, ReadWriteBuilder, ReadWriteEvent};
pub use run::{Run, RunBuilder, RunEvent, StdinError};
pub use socket_factory::{SocketFactory, SocketFactoryBuilder};
