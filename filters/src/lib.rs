//! # poe-filters
//!
//! POE's filters rebuilt in Rust: pure framing between bytes and records,
//! no I/O, every buffer bounded. A wheel feeds raw input with
//! [`Filter::get_one_start`], takes records with [`Filter::get_one`], and
//! serializes output with [`Filter::put`]; [`Filter::get_pending`] hands the
//! unparsed rest to the next filter when a wheel switches filters
//! mid-stream.
//!
//! Records are [`poe_kernel::Value`]s.
//!
//! | POE | here | records |
//! | --- | --- | --- |
//! | POE::Filter::Stream | [`Stream`] | `Bytes`: whatever is buffered |
//! | POE::Filter::Line | [`Line`] | `Str` (or `Bytes` if not UTF-8) |
//! | POE::Filter::Block | [`Block`] | `Bytes` |
//! | POE::Filter::Reference | [`Reference`] | the reference (`Map`, `List`...), via [`storable`] |
//! | POE::Filter::HTTPD | [`Httpd`] | `Local(`[`HttpRequest`]`)`, or `Local(`[`HttpResponse`]`)` for errors |
//! | POE::Filter::RecordBlock | [`RecordBlock`] | `List` of N items |
//! | POE::Filter::Grep / Map | [`Grep`] / [`Map`] | the records, filtered / transformed |
//! | POE::Filter::Stackable | [`Stackable`] | what its last filter yields |
//!
//! Record-level filters also implement [`RecordFilter`], the interface
//! between the stages of a [`Stackable`]. Every filter documents where it
//! deliberately differs from POE 1.370 (always towards bounded memory or no
//! lost data).
//!
//! ```
//! use poe_filters::{Filter, Line, Reference};
//! use poe_kernel::Value;
//!
//! // IKC-style: lines first, then Storable frames on the same stream.
//! let mut line = Line::new();
//! let mut wire = b"HELLO\r\n".to_vec();
//! let mut reference = Reference::new();
//! reference.put(Value::map([("event", "ping")]), &mut wire).unwrap();
//!
//! line.get_one_start(&wire).unwrap();
//! assert_eq!(line.get_one().unwrap(), Some(Value::from("HELLO")));
//! let rest = line.get_pending().unwrap();
//! reference.get_one_start(&rest).unwrap();
//! let msg = reference.get_one().unwrap().unwrap();
//! assert_eq!(msg.get("event").and_then(Value::as_str), Some("ping"));
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod block;
mod buffer;
mod error;
mod filter;
mod grep;
mod httpd;
mod line;
mod map;
mod read_block;
mod record;
mod record_block;
mod reference;
mod spare;
mod stackable;
pub mod storable;
mod stream;

pub use block::{Block, BlockBuilder, DecimalLength, Header, LengthCodec};
pub use error::{ConfigError, FilterError, SerializerError};
pub use filter::{Filter, RecordFilter};
pub use grep::{Grep, Predicate};
pub use httpd::{Headers, HttpRequest, HttpResponse, Httpd, HttpdBuilder};
pub use line::{Line, LineBuilder};
pub use map::{Map, MapFn, Mapped};
pub use record_block::RecordBlock;
pub use reference::{Reference, ReferenceBuilder, Serializer, Storable};
pub use stackable::{Stackable, Stage};
pub use stream::Stream;
