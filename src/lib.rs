//! # poe
//!
//! Perl's POE event framework, rebuilt in Rust. This facade re-exports the
//! workspace's crates: the kernel ([`kernel`]), filters, wheels and
//! components. Most programs need only the [`prelude`].
//!
//! ```
//! use poe::prelude::*;
//! let kernel = Kernel::new().unwrap();
//! kernel.create(Session::new(()).state("_start", |_ctx| println!("hello"))).unwrap();
//! kernel.run();
//! ```

#![deny(missing_docs)]

pub use poe_components as components;
pub use poe_filters as filters;
pub use poe_kernel as kernel;
pub use poe_wheels as wheels;

pub use poe_kernel::{
    ClockKind, Created, Ctx, Dest, EventName, Kernel, KernelError, Session, SessionId, Value,
};

/// What most programs import: the kernel, sessions, values.
pub mod prelude {
    pub use poe_kernel::{
        AlarmId, Callback, ClockKind, Ctx, Dest, EventName, IntoArgs, Kernel, KernelError, Local,
        Map, Mode, Postback, Session, SessionId, Trigger, Value,
    };
}
