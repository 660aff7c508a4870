//! # poe-kernel
//!
//! The heart of poe-rs: Perl's POE kernel rebuilt on mio. One [`Kernel`] per
//! thread runs sessions — a typed heap plus named states — that talk by
//! events: [`Kernel::post`], [`Kernel::yield_`], [`Ctx::call`], alarms and
//! delays, aliases, signals and `select_*` watchers on raw descriptors.
//! POE's semantics are kept (the lifecycle events `_start`, `_stop`,
//! `_child`, `_parent`, `_default`; reference-counted garbage collection;
//! level-triggered select), so a POE program ports line by line.
//!
//! ```
//! use poe_kernel::{Kernel, Session};
//!
//! let kernel = Kernel::new().unwrap();
//! kernel
//!     .create(
//!         Session::new(3u32)
//!             .state("_start", |ctx| ctx.yield_("count", ()))
//!             .state("count", |ctx| {
//!                 println!("{} to go", ctx.heap);
//!                 *ctx.heap -= 1;
//!                 if *ctx.heap > 0 {
//!                     ctx.delay("count", 0.001, ()).unwrap();
//!                 }
//!             })
//!             .state("_stop", |_| println!("done")),
//!     )
//!     .unwrap();
//! kernel.run();
//! ```
//!
//! The [`Value`] type carries event arguments: Perl's scalars, arrays and
//! hashes, plus [`Local`] for Rust objects that stay in the process.

#![deny(missing_docs)]

mod clock;
mod error;
mod event;
mod fxhash;
mod io;
mod kernel;
mod name;
mod os_signals;
mod postback;
mod queue;
mod session;
pub mod value;

pub use clock::ClockKind;
pub use error::{KernelError, Result};
pub use io::{Mode, Trigger};
pub use kernel::{Kernel, KernelBuilder, RemovedAlarm, SessionInfo, SignalClass, WeakKernel};
pub use name::EventName;
pub use postback::{Callback, Postback, POSTBACK_TAG};
pub use queue::AlarmId;
pub use session::{Created, Ctx, Dest, Handler, Session, SessionId, SessionOptions, StateSet};
pub use value::{Args, Blessed, Bytes, IntoArgs, Local, Map, Text, TextBlock, Value, ValueError};
