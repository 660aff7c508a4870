//! The channel: one session per IKC connection (Perl's
//! POE::Component::IKC::Channel). It negotiates over a Line-filtered
//! ReadWrite, switches the same wheel to Reference framing without losing
//! a byte, registers the remote kernel with the Responder, and from then
//! on hands every frame to the Responder's request handling.

use super::link::{Link, LinkState};
use super::negotiation::{Names, Negotiation};
use super::responder::{self, handle_request, Registry, IKC_ALIAS};
use super::settings::Settings;
use super::Request;
use poe_filters::{Line, Reference};
use poe_kernel::{AlarmId, Ctx, Session, SessionId, Value};
use poe_wheels::{ReadWrite, ReadWriteEvent};
use socket2::Socket;
use std::cell::RefCell;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Called in the channel session once it is ready (Perl's `on_connect`).
pub type ConnectCallback = Rc<dyn Fn(&mut Ctx<'_, Channel>)>;

/// Called with `(operation, errno, message)` for connection and
/// negotiation errors (Perl's `on_error`).
pub type ErrorCallback = Rc<dyn Fn(&str, i32, &str)>;

/// Longest negotiation line accepted. Names lists are short; a peer
/// sending more is not speaking IKC.
const MAX_LINE: usize = 4096;

/// What every channel of one Server or Client shares.
pub(crate) struct ChannelConfig {
    pub reg: Rc<RefCell<Registry>>,
    /// True on the accepting side.
    pub server: bool,
    /// Names, dialect, bounds and the error callback, as configured.
    pub settings: Settings,
    pub on_connect: Option<ConnectCallback>,
    pub subscribe: Vec<String>,
}

/// A channel session's heap.
pub struct Channel {
    cfg: Rc<ChannelConfig>,
    link: Option<Rc<Link>>,
    negotiation: Option<Negotiation>,
    timeout: Option<AlarmId>,
    /// The local name of the peer: `ip:port` it was reached at.
    temp_remote: Option<String>,
    registered: bool,
    /// The listening session to tell when this channel ends (Concurrency).
    listener: Option<SessionId>,
}

impl Channel {
    /// The remote kernel's ID, once negotiated.
    pub fn remote_id(&self) -> Option<String> {
        self.link.as_ref().and_then(|l| l.remote_id())
    }

    /// True once frames flow.
    pub fn is_up(&self) -> bool {
        self.link
            .as_ref()
            .is_some_and(|l| l.state() == LinkState::Up)
    }
}

/// A channel session for `socket`. `temp_remote` is the extra local name
/// of the peer (the server: the peer's `ip:port`; the client: the
/// `host:port` it was told to connect to). `unix_path` is the UNIX socket
/// a client connected to (its own socket has no path to announce).
pub(crate) fn session(
    cfg: Rc<ChannelConfig>,
    socket: Socket,
    temp_remote: Option<String>,
    unix_path: Option<PathBuf>,
    listener: Option<SessionId>,
) -> Session<Channel> {
    let socket = poe_kernel::Local::new(socket);
    Session::new(Channel {
        cfg,
        link: None,
        negotiation: None,
        timeout: None,
        temp_remote,
        registered: false,
        listener,
    })
    .state("_start", move |ctx| {
        let Some(socket) = socket.take::<Socket>() else {
            return;
        };
        start(ctx, socket, unix_path.as_deref());
    })
    .state("ikc_line", line)
    .state("ikc_frame", frame)
    .state("ikc_error", |ctx| {
        let op = ctx.arg(0).to_string();
        let errno = ctx.arg(1).as_i64().unwrap_or(0) as i32;
        let message = ctx.arg(2).to_string();
        fail(ctx, &op, errno, &message);
    })
    .state("ikc_flushed", |ctx| {
        if let Some(link) = &ctx.heap.link {
            if link.state() == LinkState::Closing {
                link.drop_wheel();
            }
        }
    })
    .state("ikc_negotiation_timeout", |ctx| {
        ctx.heap.timeout = None;
        let negotiating = ctx
            .heap
            .link
            .as_ref()
            .is_some_and(|l| l.state() == LinkState::Negotiating);
        if negotiating {
            fail(ctx, "negotiate", libc::ETIMEDOUT, "negotiation timed out");
        }
    })
    .state("ikc_subscribed", |ctx| {
        let accepted: Vec<String> = ctx
            .arg(0)
            .as_list()
            .unwrap_or(&[])
            .iter()
            .map(Value::to_string)
            .collect();
        let missing: Vec<String> = ctx
            .heap
            .cfg
            .subscribe
            .iter()
            .filter(|s| !accepted.iter().any(|a| same_spec(a, s)))
            .cloned()
            .collect();
        if missing.is_empty() {
            connected(ctx);
        } else {
            // Perl dies here; we tell on_error and close this channel.
            let message = format!("Unable to subscribe to {}", missing.join(", "));
            report_error(&ctx.heap.cfg, "subscribe", 0, &message);
            fail(ctx, "subscribe", 0, &message);
        }
    })
    .state("shutdown", |ctx| close(ctx, false))
    .state("_stop", |ctx| {
        close(ctx, true);
        if let Some(listener) = ctx.heap.listener {
            let _ = ctx.call(listener, "disconnected", ());
        }
    })
    .state("_child", |_| ())
    .state("_parent", |_| ())
}

fn start(ctx: &mut Ctx<'_, Channel>, socket: Socket, unix_path: Option<&Path>) {
    let cfg = ctx.heap.cfg.clone();
    let mut names = cfg.settings.local_names();
    names.push(match unix_path {
        Some(path) => unix_name(path, Some(socket.as_raw_fd())),
        None => local_name(&socket),
    });
    let kernel_name = names[0].clone();
    let link = Rc::new(Link::new(ctx.session(), kernel_name));
    let line = Line::builder()
        .max_length(MAX_LINE)
        .build()
        .expect("a valid Line configuration");
    let wheel = ReadWrite::builder(socket)
        .filter(line)
        .input_event("ikc_line")
        .error_event("ikc_error")
        .flushed_event("ikc_flushed")
        .build(ctx);
    let wheel = match wheel {
        Ok(w) => w,
        Err(e) => {
            report_error(&cfg, "setup", 0, &e.to_string());
            return;
        }
    };
    link.set_wheel(wheel);
    cfg.reg.borrow_mut().channels.push(link.clone());
    let own = Names {
        kernel_id: cfg.reg.borrow().kernel_id.clone(),
        names,
    };
    let pid = std::process::id();
    let mut negotiation = if cfg.server {
        Negotiation::server(own, cfg.settings.protocol, pid)
    } else {
        Negotiation::client(own, cfg.settings.protocol, pid)
    }
    .with_limits(cfg.settings.limits);
    for l in negotiation.start() {
        link.send_line(&l);
    }
    ctx.heap.negotiation = Some(negotiation);
    ctx.heap.link = Some(link);
    ctx.heap.timeout = ctx
        .delay_set(
            "ikc_negotiation_timeout",
            cfg.settings.negotiation_timeout,
            (),
        )
        .ok();
}

/// `ip:port` of our end of the socket, or, on the accepting side of a
/// UNIX socket, `unix:<path>` (Perl's names, ikc-protocol.md §3.1).
fn local_name(socket: &Socket) -> String {
    let Ok(addr) = socket.local_addr() else {
        return "unix:unknown".to_owned();
    };
    match addr.as_socket() {
        Some(sa) => format!("{}:{}", sa.ip(), sa.port()),
        None => unix_name(addr.as_pathname().unwrap_or(Path::new("")), None),
    }
}

/// Perl's name for a UNIX-socket channel: `unix:` and the path with each
/// run of octets outside `[-:.\w]` (ASCII) replaced by one `_`; a client
/// adds `:<pid>-<fd>` (IKC::Channel's `s/[^-:.\w]+/_/g`).
fn unix_name(path: &Path, client_fd: Option<RawFd>) -> String {
    let mut name = String::from("unix:");
    let mut in_run = false;
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-:._".contains(&b) {
            name.push(char::from(b));
            in_run = false;
        } else if !in_run {
            name.push('_');
            in_run = true;
        }
    }
    if let Some(fd) = client_fd {
        name.push_str(&format!(":{}-{fd}", std::process::id()));
    }
    name
}

/// A negotiation line.
fn line(ctx: &mut Ctx<'_, Channel>) {
    let raw = ctx
        .arg(0)
        .as_bytes()
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let Some(link) = ctx.heap.link.clone() else {
        return;
    };
    let Some(negotiation) = ctx.heap.negotiation.as_mut() else {
        return;
    };
    let step = match negotiation.line(&raw) {
        Ok(step) => step,
        Err(e) => return fail(ctx, "negotiate", libc::EPROTO, &e.to_string()),
    };
    for l in &step.send {
        link.send_line(l);
    }
    let Some(done) = step.done else {
        return;
    };
    ctx.heap.negotiation = None;
    // The unparsed rest of the read moves to the frame filter.
    let cfg = ctx.heap.cfg.clone();
    let reference = Reference::builder()
        .max_buffer(cfg.settings.max_frame)
        .build()
        .expect("a valid Reference configuration");
    let switched = link.with_wheel(|w| {
        w.event(ReadWriteEvent::Input, Some("ikc_frame".into()));
        w.set_filter(reference)
    });
    if let Some(Err(e)) = switched {
        return fail(ctx, "negotiate", libc::EPROTO, &e.to_string());
    }
    if let Some(alarm) = ctx.heap.timeout.take() {
        let _ = ctx.alarm_remove(alarm);
    }
    let mut aliases = done.remote_aliases.clone();
    if let Some(t) = &ctx.heap.temp_remote {
        if !aliases.contains(t) && *t != done.remote_id {
            aliases.push(t.clone());
        }
    }
    let registered = cfg
        .reg
        .borrow_mut()
        .register(&done.remote_id, &aliases, &link);
    if let Err(message) = registered {
        // Refused after the negotiation: let our last line out first.
        log::warn!(target: "poe::ikc", "channel {}: {message}", ctx.session());
        report_error(&cfg, "register", 0, &message);
        return close(ctx, false);
    }
    ctx.heap.registered = true;
    link.set_state(LinkState::Up);
    log::debug!(target: "poe::ikc", "channel {} up with {}", ctx.session(), done.remote_id);
    let names = cfg.reg.borrow().names_of(&done.remote_id);
    let pid = done.pid.map_or(Value::Undef, Value::from);
    responder::inform(ctx, &cfg.reg, &names, "register", &[pid]);
    let me = Value::from(ctx.session().get());
    responder::inform(
        ctx,
        &cfg.reg,
        &names,
        "channel",
        &[Value::from("ready"), me],
    );
    if cfg.subscribe.is_empty() {
        connected(ctx);
    } else {
        let specs = Value::list(cfg.subscribe.iter().map(|s| Value::from(s.as_str())));
        let _ = ctx.call(IKC_ALIAS, "subscribe", (specs, "ikc_subscribed"));
    }
}

fn connected(ctx: &mut Ctx<'_, Channel>) {
    if let Some(cb) = ctx.heap.cfg.on_connect.clone() {
        cb(ctx);
    }
}

/// A frame.
fn frame(ctx: &mut Ctx<'_, Channel>) {
    let Some(link) = ctx.heap.link.clone() else {
        return;
    };
    let value = ctx.take_arg(0);
    match Request::from_value(value) {
        Ok(request) => {
            let reg = ctx.heap.cfg.reg.clone();
            handle_request(ctx, &reg, &link, request);
        }
        // Perl dies here, taking its whole process down; it costs us this
        // one channel.
        Err(e) => fail(ctx, "read", libc::EBADMSG, &e.to_string()),
    }
}

/// A connection or negotiation error: tell `on_error` (while negotiating)
/// and the monitors, then close without waiting for output.
fn fail(ctx: &mut Ctx<'_, Channel>, op: &str, errno: i32, message: &str) {
    let cfg = ctx.heap.cfg.clone();
    let up = ctx.heap.is_up();
    if !up || op != "read" || errno != 0 {
        log::debug!(target: "poe::ikc", "channel {}: {op} error {errno}: {message}", ctx.session());
    }
    if !up {
        report_error(&cfg, op, errno, message);
    }
    let names = match ctx.heap.remote_id() {
        Some(id) => cfg.reg.borrow().names_of(&id),
        None => vec!["*".to_owned()],
    };
    let text = format!("[{errno}] {message}");
    responder::inform(
        ctx,
        &cfg.reg,
        &names,
        "error",
        &[Value::from(format!("channel-{op}")), Value::from(text)],
    );
    close(ctx, true);
}

fn report_error(cfg: &ChannelConfig, op: &str, errno: i32, message: &str) {
    if let Some(cb) = &cfg.settings.on_error {
        cb(op, errno, message);
    }
}

/// Unregister the remote kernel and close: at once (`force`), or once
/// the output is flushed.
fn close(ctx: &mut Ctx<'_, Channel>, force: bool) {
    let Some(link) = ctx.heap.link.clone() else {
        return;
    };
    if let Some(alarm) = ctx.heap.timeout.take() {
        let _ = ctx.alarm_remove(alarm);
    }
    let cfg = ctx.heap.cfg.clone();
    if std::mem::take(&mut ctx.heap.registered) {
        if let Some(id) = link.remote_id() {
            unregister(ctx, &cfg.reg, &id);
        }
    }
    cfg.reg
        .borrow_mut()
        .channels
        .retain(|l| !Rc::ptr_eq(l, &link));
    fail_calls(ctx, &cfg.reg, &link);
    responder::release_thunks(ctx, &link);
    let pending = link
        .with_wheel(ReadWrite::get_driver_out_octets)
        .unwrap_or(0);
    if force || pending == 0 {
        link.drop_wheel();
    } else {
        link.set_state(LinkState::Closing);
    }
}

/// Calls written to this channel alone will never be answered: their
/// RSVP states hear so now, as they would their timeout.
fn fail_calls(ctx: &mut Ctx<'_, Channel>, reg: &Rc<RefCell<Registry>>, link: &Link) {
    let calls = reg.borrow_mut().take_calls_on(link.session);
    if calls.is_empty() {
        return;
    }
    let remote = link
        .remote_id()
        .unwrap_or_else(|| "the remote kernel".to_owned());
    let message = format!("The connection to {remote} closed before the reply came");
    let responder = reg.borrow().session;
    responder::fail_calls(ctx, responder, calls, &message, responder::DISCONNECTED);
}

fn unregister(ctx: &mut Ctx<'_, Channel>, reg: &Rc<RefCell<Registry>>, remote_id: &str) {
    let names = reg.borrow_mut().unregister(remote_id);
    let Some(names) = names else {
        return;
    };
    responder::inform(ctx, reg, &names, "unregister", &[]);
    let me = Value::from(ctx.session().get());
    responder::inform(ctx, reg, &names, "channel", &[Value::from("close"), me]);
    // Proxies for that kernel have nothing left to forward to.
    let stale: Vec<String> = reg
        .borrow()
        .proxies
        .iter()
        .filter(|(_, (_, id))| id == remote_id)
        .map(|(k, _)| k.clone())
        .collect();
    responder::unsubscribe(ctx, reg, &stale);
}

/// `a` (accepted, as `poe://K/S`) stands for `wanted` (as given).
fn same_spec(a: &str, wanted: &str) -> bool {
    let norm = |s: &str| {
        super::responder::destination(&Value::from(s))
            .map(|d| d.session_address())
            .unwrap_or_default()
    };
    norm(a) == norm(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_names_replace_each_run_of_odd_octets_with_one_underscore() {
        assert_eq!(
            unix_name(Path::new("/tmp/ikc.sock"), None),
            "unix:_tmp_ikc.sock"
        );
        // Spaces, `//`, `+`, a two-octet é and `~` in runs: one `_` each.
        assert_eq!(
            unix_name(Path::new("/var//run/my ikc+é~x:1.sock"), None),
            "unix:_var_run_my_ikc_x:1.sock"
        );
        let pid = std::process::id();
        assert_eq!(
            unix_name(Path::new("/tmp/a-b_c"), Some(7)),
            format!("unix:_tmp_a-b_c:{pid}-7")
        );
    }
}
