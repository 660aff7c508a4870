//! The Responder's tables: remote kernels and their names, publications,
//! one-shot RSVP allowances, monitors, proxies, pending calls.
//!
//! Shared (`Rc<RefCell<Registry>>`) by the `IKC` session, the channels,
//! proxies and thunks; borrowed only for short sections that run no
//! session code.

use super::super::link::{Link, LinkState};
use super::super::Specifier;
use poe_kernel::{AlarmId, EventName, SessionId, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

/// A remote kernel as registered after negotiation.
#[derive(Debug)]
pub(crate) struct Remote {
    pub link: Rc<Link>,
    pub aliases: Vec<String>,
}

/// A session watching IKC events (Perl's `monitor`).
#[derive(Debug, Clone)]
pub(crate) struct Monitor {
    pub session: SessionId,
    /// The kernel name given to `monitor`, `*` for all.
    pub name: String,
    /// IKC event (register, unregister, channel, subscribe, unsubscribe,
    /// error, shutdown) -> the session's state.
    pub events: BTreeMap<String, EventName>,
    pub data: Value,
}

/// A call waiting for its reply (poe-rs: with an optional timeout). It
/// ends exactly once: with the reply, a remote error, its timeout, the
/// close of the last channel it was written to, or IKC's shutdown.
#[derive(Debug)]
pub(crate) struct PendingCall {
    /// The caller and the state the reply goes to.
    pub session: SessionId,
    pub state: String,
    /// The allowance key the reply consumes.
    pub key: (String, String),
    /// The channel sessions it was written to, still open.
    pub channels: Vec<SessionId>,
    /// Its timeout alarm, owned by the `IKC` session.
    pub alarm: Option<AlarmId>,
}

/// A subscription request waiting for its receipts.
#[derive(Debug)]
pub(crate) struct PendingSubscribe {
    pub session: SessionId,
    pub callback: Option<EventName>,
    /// Receipts still expected.
    pub waiting: usize,
    pub accepted: Vec<Value>,
    /// Its 60 s timeout.
    pub alarm: Option<AlarmId>,
}

/// Everything the Responder knows.
#[derive(Debug)]
pub(crate) struct Registry {
    /// This kernel's ID.
    pub kernel_id: String,
    /// The `IKC` session.
    pub session: SessionId,
    /// Names that mean "this kernel" in a specifier.
    pub local_names: BTreeSet<String>,
    /// Registered remote kernels by ID.
    pub remotes: BTreeMap<String, Remote>,
    /// Every remote name (ID or alias) -> remote ID; the first
    /// registration of an alias wins.
    pub names: HashMap<String, String>,
    /// The kernel an empty kernel part means: the first registered.
    pub default: Option<String>,
    /// Every channel, negotiating or up, for shutdown.
    pub channels: Vec<Rc<Link>>,
    /// Session alias -> published states.
    pub published: HashMap<String, BTreeSet<String>>,
    /// (session, state) -> replies allowed in (one per call sent).
    pub allowances: HashMap<(String, String), u32>,
    pub monitors: Vec<Monitor>,
    /// `poe://K/S` -> the proxy session and the remote ID it forwards to.
    pub proxies: BTreeMap<String, (SessionId, String)>,
    pub calls: BTreeMap<u64, PendingCall>,
    pub subscribes: BTreeMap<u64, PendingSubscribe>,
    pub next_id: u64,
    /// Server listeners to stop on `shutdown`.
    pub listeners: Vec<SessionId>,
}

impl Registry {
    pub(crate) fn new(kernel_id: String, session: SessionId) -> Registry {
        let mut published = HashMap::new();
        published.insert(
            "IKC".to_owned(),
            ["remote_error", "do_you_have", "ping"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
        );
        Registry {
            kernel_id,
            session,
            local_names: BTreeSet::new(),
            remotes: BTreeMap::new(),
            names: HashMap::new(),
            default: None,
            channels: Vec::new(),
            published,
            allowances: HashMap::new(),
            monitors: Vec::new(),
            proxies: BTreeMap::new(),
            calls: BTreeMap::new(),
            subscribes: BTreeMap::new(),
            next_id: 1,
            listeners: Vec::new(),
        }
    }

    pub(crate) fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Register a negotiated channel's remote kernel. Refused when its ID
    /// is already registered (Perl's "Remote kernel already exists").
    pub(crate) fn register(
        &mut self,
        remote_id: &str,
        aliases: &[String],
        link: &Rc<Link>,
    ) -> Result<(), String> {
        if self.remotes.contains_key(remote_id) {
            return Err(format!("Remote kernel '{remote_id}' already exists"));
        }
        *link.remote_id.borrow_mut() = Some(remote_id.to_owned());
        self.names
            .insert(remote_id.to_owned(), remote_id.to_owned());
        for a in aliases {
            self.names
                .entry(a.clone())
                .or_insert_with(|| remote_id.to_owned());
        }
        self.remotes.insert(
            remote_id.to_owned(),
            Remote {
                link: link.clone(),
                aliases: aliases.to_vec(),
            },
        );
        if self.default.is_none() {
            self.default = Some(remote_id.to_owned());
        }
        Ok(())
    }

    /// Forget a remote kernel; returns its names (ID first) if it was
    /// registered.
    pub(crate) fn unregister(&mut self, remote_id: &str) -> Option<Vec<String>> {
        let remote = self.remotes.remove(remote_id)?;
        self.names.retain(|_, id| id != remote_id);
        if self.default.as_deref() == Some(remote_id) {
            self.default = self.remotes.keys().next().cloned();
        }
        let mut names = vec![remote_id.to_owned()];
        names.extend(remote.aliases);
        Some(names)
    }

    /// The links a kernel part of a specifier selects: a remote name, `*`
    /// (every remote), or empty (the default kernel).
    pub(crate) fn route(&self, kernel: &str) -> Vec<Rc<Link>> {
        let up = |r: &Remote| r.link.state() == LinkState::Up;
        match kernel {
            "*" => self
                .remotes
                .values()
                .filter(|r| up(r))
                .map(|r| r.link.clone())
                .collect(),
            "" => self
                .default
                .as_ref()
                .and_then(|id| self.remotes.get(id))
                .filter(|r| up(r))
                .map(|r| vec![r.link.clone()])
                .unwrap_or_default(),
            name => self
                .names
                .get(name)
                .and_then(|id| self.remotes.get(id))
                .filter(|r| up(r))
                .map(|r| vec![r.link.clone()])
                .unwrap_or_default(),
        }
    }

    /// True when a specifier's kernel part names this kernel.
    pub(crate) fn is_local(&self, kernel: &str) -> bool {
        kernel == self.kernel_id || self.local_names.contains(kernel)
    }

    /// Names a remote kernel is known by (ID first).
    pub(crate) fn names_of(&self, remote_id: &str) -> Vec<String> {
        let mut names = vec![remote_id.to_owned()];
        if let Some(r) = self.remotes.get(remote_id) {
            names.extend(r.aliases.iter().cloned());
        }
        names
    }

    /// Record that a reply may come in to (session, state), once.
    pub(crate) fn allow(&mut self, session: &str, state: &str) {
        *self
            .allowances
            .entry((session.to_owned(), state.to_owned()))
            .or_insert(0) += 1;
    }

    /// Use up one allowance for (session, state), if there is one; the
    /// oldest pending call waiting on it is answered, and returned (its
    /// timeout is the caller's to cancel).
    pub(crate) fn consume_allowance(&mut self, session: &str, state: &str) -> Option<PendingCall> {
        let key = (session.to_owned(), state.to_owned());
        let n = self.allowances.get_mut(&key)?;
        *n -= 1;
        if *n == 0 {
            self.allowances.remove(&key);
        }
        let id = self
            .calls
            .iter()
            .find(|(_, c)| c.key == key)
            .map(|(id, _)| *id)?;
        self.calls.remove(&id)
    }

    /// A channel closed: its pending calls lose it, and those written to
    /// no other open channel can never be answered. They are returned,
    /// their allowances revoked.
    pub(crate) fn take_calls_on(&mut self, channel: SessionId) -> Vec<PendingCall> {
        let mut orphans = Vec::new();
        for (id, call) in self.calls.iter_mut() {
            let before = call.channels.len();
            call.channels.retain(|c| *c != channel);
            if before > 0 && call.channels.is_empty() {
                orphans.push(*id);
            }
        }
        self.take_calls(&orphans)
    }

    /// Every pending call, their allowances revoked (IKC shuts down).
    pub(crate) fn take_all_calls(&mut self) -> Vec<PendingCall> {
        let ids: Vec<u64> = self.calls.keys().copied().collect();
        self.take_calls(&ids)
    }

    /// The pending call `id`, its allowance revoked; `None` if it has
    /// already ended.
    pub(crate) fn take_call(&mut self, id: u64) -> Option<PendingCall> {
        self.take_calls(&[id]).pop()
    }

    /// End the pending calls `ids` (those still pending): each is removed
    /// and its allowance revoked, so it ends exactly once.
    fn take_calls(&mut self, ids: &[u64]) -> Vec<PendingCall> {
        let calls: Vec<PendingCall> = ids.iter().filter_map(|id| self.calls.remove(id)).collect();
        for call in &calls {
            self.revoke_allowance(&call.key);
        }
        calls
    }

    /// Take back one allowance (a call that timed out or failed).
    fn revoke_allowance(&mut self, key: &(String, String)) {
        if let Some(n) = self.allowances.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.allowances.remove(key);
            }
        }
    }

    /// The `from` of a message sent by `aliases`' session: its first alias
    /// that has published something (Perl's rule); none otherwise.
    pub(crate) fn sender_spec(&self, aliases: &[String]) -> Option<Specifier> {
        aliases
            .iter()
            .find(|a| self.published.get(*a).is_some_and(|s| !s.is_empty()))
            .map(|a| Specifier::new(self.kernel_id.clone(), a.clone(), super::super::PROXY_STATE))
    }

    /// Monitors interested in `event` about the kernel called `names`
    /// (ID first): one (session, state, args) per monitor and name, as
    /// Perl delivers once per name and again for `*` monitors.
    pub(crate) fn monitor_calls(
        &self,
        names: &[String],
        event: &str,
        extra: &[Value],
    ) -> Vec<(SessionId, EventName, Vec<Value>)> {
        let mut out = Vec::new();
        for m in &self.monitors {
            let Some(state) = m.events.get(event) else {
                continue;
            };
            for (i, name) in names.iter().enumerate() {
                if m.name != "*" && &m.name != name {
                    continue;
                }
                let mut args = vec![
                    Value::from(m.name.as_str()),
                    Value::from(name.as_str()),
                    Value::from(i == 0),
                    m.data.clone(),
                ];
                args.extend(extra.iter().cloned());
                out.push((m.session, state.clone(), args));
            }
        }
        out
    }
}
