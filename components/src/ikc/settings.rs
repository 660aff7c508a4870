//! What an IKC Server and Client configure alike: names, dialect, bounds,
//! callbacks. Both builders expose these setters (see `common_setters!`).

use super::channel::{ChannelConfig, ErrorCallback};
use super::negotiation::{Limits, Protocol};
use super::responder::Registry;
use std::cell::RefCell;
use std::rc::Rc;

/// Default bound on one frame, for channels and
/// [`ClientLite`](super::ClientLite) alike. Perl's is 512 MiB (and then the
/// process dies); IKC messages, and a script's replies, are far smaller.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Default time a peer has to finish negotiating.
pub const DEFAULT_NEGOTIATION_TIMEOUT: f64 = 30.0;

#[derive(Clone)]
pub(crate) struct Settings {
    pub name: Option<String>,
    pub aliases: Vec<String>,
    pub protocol: Protocol,
    pub limits: Limits,
    pub negotiation_timeout: f64,
    pub max_frame: usize,
    pub on_error: Option<ErrorCallback>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            name: None,
            aliases: Vec::new(),
            protocol: Protocol::Ikc0,
            limits: Limits::default(),
            negotiation_timeout: DEFAULT_NEGOTIATION_TIMEOUT,
            max_frame: DEFAULT_MAX_FRAME,
            on_error: None,
        }
    }
}

impl Settings {
    pub(crate) fn channel_config(&self, reg: Rc<RefCell<Registry>>, server: bool) -> ChannelConfig {
        ChannelConfig {
            reg,
            server,
            settings: self.clone(),
            on_connect: None,
            subscribe: Vec::new(),
        }
    }

    /// The names this kernel goes by locally (`register_local`).
    pub(crate) fn local_names(&self) -> Vec<String> {
        self.name
            .iter()
            .chain(self.aliases.iter())
            .cloned()
            .collect()
    }
}

/// The setters both builders share; `$field` is the builder's `Settings`.
macro_rules! common_setters {
    ($field:ident) => {
        /// `name`: the kernel name announced after the kernel ID.
        pub fn name(mut self, name: impl Into<String>) -> Self {
            self.$field.name = Some(name.into());
            self
        }

        /// `aliases`: more names for this kernel.
        pub fn aliases<I, S>(mut self, aliases: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.$field.aliases = aliases.into_iter().map(Into::into).collect();
            self
        }

        /// `protocol`: `IKC0` (SETUP, falling back to HELLO; the default)
        /// or `IKC` (HELLO only).
        pub fn protocol(mut self, protocol: $crate::ikc::negotiation::Protocol) -> Self {
            self.$field.protocol = protocol;
            self
        }

        /// `on_error`: `(operation, errno, message)` for connection and
        /// negotiation errors (and a Server's listener errors). It only
        /// reports: a Server keeps listening through accept errors such
        /// as EMFILE, as `tcp::Server`'s listener does.
        pub fn on_error(mut self, f: impl Fn(&str, i32, &str) + 'static) -> Self {
            self.$field.on_error = Some(std::rc::Rc::new(f));
            self
        }

        /// Seconds a peer has to finish negotiating (default 30); then
        /// the channel closes. Perl has no such bound.
        pub fn negotiation_timeout(mut self, secs: f64) -> Self {
            self.$field.negotiation_timeout = secs;
            self
        }

        /// Largest frame accepted (default 16 MiB); a larger one closes
        /// that channel.
        pub fn max_frame(mut self, octets: usize) -> Self {
            self.$field.max_frame = octets;
            self
        }

        /// Bounds on lines and refusals while negotiating.
        pub fn negotiation_limits(mut self, limits: $crate::ikc::negotiation::Limits) -> Self {
            self.$field.limits = limits;
            self
        }
    };
}

pub(crate) use common_setters;
