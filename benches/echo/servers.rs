//! The echo servers under test. Each binds 127.0.0.1:0, prints its port on
//! the first line of stdout, and serves until killed.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

fn announce(port: u16) {
    println!("{port}");
    std::io::stdout().flush().unwrap();
}

fn listener() -> TcpListener {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    announce(l.local_addr().unwrap().port());
    l
}

/// poe-rs with raw `select_read`: one session, level-triggered watchers,
/// one read per event, echoed back at once (leftovers wait for
/// `select_write`). What a POE program using select_read directly does.
pub fn poe_select() {
    use poe::prelude::*;

    struct Conn {
        stream: TcpStream,
        pending: Vec<u8>,
    }
    struct Heap {
        listener: TcpListener,
        conns: HashMap<RawFd, Conn>,
        buf: Vec<u8>,
    }
    let kernel = Kernel::new().unwrap();
    kernel
        .create(
            Session::new(Heap {
                listener: listener(),
                conns: HashMap::new(),
                buf: vec![0; 65536],
            })
            .state("_start", |ctx| {
                ctx.select_read(&ctx.heap.listener, "accept", ()).unwrap()
            })
            .state("accept", |ctx| {
                while let Ok((stream, _)) = ctx.heap.listener.accept() {
                    stream.set_nonblocking(true).unwrap();
                    stream.set_nodelay(true).unwrap();
                    ctx.select_read(&stream, "read", ()).unwrap();
                    let fd = stream.as_raw_fd();
                    ctx.heap.conns.insert(
                        fd,
                        Conn {
                            stream,
                            pending: Vec::new(),
                        },
                    );
                }
            })
            .state("read", |ctx| {
                let fd = ctx.arg(0).as_i64().unwrap() as RawFd;
                let k = ctx.kernel();
                let heap = &mut *ctx.heap;
                let conn = heap.conns.get_mut(&fd).unwrap();
                match conn.stream.read(&mut heap.buf) {
                    Ok(0) | Err(_) => {
                        let conn = heap.conns.remove(&fd).unwrap();
                        k.select(&conn.stream, None, None, None, ()).unwrap();
                    }
                    Ok(n) => {
                        if !conn.pending.is_empty() {
                            conn.pending.extend_from_slice(&heap.buf[..n]);
                            return;
                        }
                        let written = match conn.stream.write(&heap.buf[..n]) {
                            Ok(w) => w,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
                            Err(_) => n,
                        };
                        if written < n {
                            conn.pending.extend_from_slice(&heap.buf[written..n]);
                            k.select_write(&conn.stream, "write", ()).unwrap();
                        }
                    }
                }
            })
            .state("write", |ctx| {
                let fd = ctx.arg(0).as_i64().unwrap() as RawFd;
                let k = ctx.kernel();
                let conn = ctx.heap.conns.get_mut(&fd).unwrap();
                if let Ok(w) = conn.stream.write(&conn.pending) {
                    conn.pending.drain(..w);
                }
                if conn.pending.is_empty() {
                    k.select_write_remove(&conn.stream).unwrap();
                }
            }),
        )
        .unwrap();
    kernel.run();
}

/// poe-rs with SocketFactory + ReadWrite and the Line filter: POE's
/// standard echo server shape.
pub fn poe_readwrite() {
    use poe::prelude::*;
    use poe::wheels::{ReadWrite, SocketFactory, WheelId};

    struct Heap {
        listener: Option<SocketFactory>,
        clients: std::collections::BTreeMap<WheelId, ReadWrite>,
    }
    let kernel = Kernel::new().unwrap();
    kernel
        .create(
            Session::new(Heap {
                listener: None,
                clients: std::collections::BTreeMap::new(),
            })
            .state("_start", |ctx| {
                let w = SocketFactory::builder()
                    .bind_address("127.0.0.1")
                    .bind_port(0u16)
                    .reuse(true)
                    .success_event("accepted")
                    .failure_event("failed")
                    .build(ctx)
                    .unwrap();
                announce(w.local_addr().unwrap().port());
                ctx.heap.listener = Some(w);
            })
            .state("accepted", |ctx| {
                let socket = ctx.arg(0).take_local::<socket2::Socket>().unwrap();
                socket.set_nodelay(true).unwrap();
                let w = ReadWrite::builder(socket)
                    .input_event("input")
                    .error_event("error")
                    .build(ctx)
                    .unwrap();
                ctx.heap.clients.insert(w.id(), w);
            })
            .state("input", |ctx| {
                let id = WheelId::from_value(ctx.arg(1)).unwrap();
                let line = ctx.take_arg(0);
                ctx.heap.clients[&id].put(line).unwrap();
            })
            .state("error", |ctx| {
                let id = WheelId::from_value(ctx.arg(3)).unwrap();
                ctx.heap.clients.remove(&id);
            })
            .state("failed", |ctx| eprintln!("listener failed: {:?}", ctx.args)),
        )
        .unwrap();
    kernel.run();
}

/// A hand-written single-threaded mio echo: the floor for any event loop.
pub fn mio() {
    use mio::net::{TcpListener as MioListener, TcpStream as MioStream};
    use mio::{Events, Interest, Poll, Token};

    const LISTENER: Token = Token(usize::MAX);
    struct Conn {
        stream: MioStream,
        pending: Vec<u8>,
    }
    let mut poll = Poll::new().unwrap();
    let mut l = MioListener::from_std(listener());
    poll.registry()
        .register(&mut l, LISTENER, Interest::READABLE)
        .unwrap();
    let mut conns: slab::Slab<Conn> = slab::Slab::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 65536];
    loop {
        poll.poll(&mut events, None).unwrap();
        for ev in events.iter() {
            if ev.token() == LISTENER {
                while let Ok((mut stream, _)) = l.accept() {
                    stream.set_nodelay(true).unwrap();
                    let entry = conns.vacant_entry();
                    poll.registry()
                        .register(
                            &mut stream,
                            Token(entry.key()),
                            Interest::READABLE | Interest::WRITABLE,
                        )
                        .unwrap();
                    entry.insert(Conn {
                        stream,
                        pending: Vec::new(),
                    });
                }
                continue;
            }
            let key = ev.token().0;
            let Some(c) = conns.get_mut(key) else {
                continue;
            };
            let mut closed = false;
            if ev.is_readable() {
                loop {
                    match c.stream.read(&mut buf) {
                        Ok(0) => {
                            closed = true;
                            break;
                        }
                        Ok(n) => c.pending.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(_) => {
                            closed = true;
                            break;
                        }
                    }
                }
            }
            while !closed && !c.pending.is_empty() {
                match c.stream.write(&c.pending) {
                    Ok(n) => {
                        c.pending.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => closed = true,
                }
            }
            if closed {
                let mut c = conns.remove(key);
                let _ = poll.registry().deregister(&mut c.stream);
            }
        }
    }
}

/// tokio's current-thread runtime with LinesCodec, one task per
/// connection. Replies are fed and flushed once per batch of lines already
/// read, so tokio, too, writes what one wake-up produced in one syscall.
pub fn tokio() {
    use futures::{FutureExt, SinkExt, StreamExt};
    use tokio_util::codec::{Framed, LinesCodec};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let l = tokio::net::TcpListener::from_std(listener()).unwrap();
        loop {
            let (stream, _) = l.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let mut framed = Framed::new(stream, LinesCodec::new());
                while let Some(Ok(line)) = framed.next().await {
                    if framed.feed(line).await.is_err() {
                        return;
                    }
                    while let Some(Some(Ok(line))) = framed.next().now_or_never() {
                        if framed.feed(line).await.is_err() {
                            return;
                        }
                    }
                    if SinkExt::<String>::flush(&mut framed).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
}

/// poe-rs Server::TCP: the component's echo server, one session per
/// connection.
pub fn poe_server_tcp() {
    use poe::components::tcp::Server;
    use poe::prelude::*;

    let kernel = Kernel::new().unwrap();
    let server = Server::builder::<()>()
        .address("127.0.0.1")
        .client_pre_connect(|_, socket| {
            // Same socket options as every other server in this benchmark.
            socket.set_nodelay(true).ok()?;
            Some(socket)
        })
        .client_input(|ctx| {
            let line = ctx.take_arg(0);
            ctx.heap.client.put(line).unwrap();
        })
        .spawn(&kernel)
        .unwrap();
    announce(server.port());
    kernel.run();
}
