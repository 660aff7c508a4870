//! Drivers: the part of a wheel that moves bytes (POE::Driver::*).

mod sysrw;

pub use sysrw::{DriverError, ReadOutcome, SysRw};
