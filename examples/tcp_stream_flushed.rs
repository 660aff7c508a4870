//! Streaming with ClientFlushed, after POE::Component::Server::TCP's
//! documentation: each time a client's output has been written, the next
//! chunk of a file goes out; at the end of the file the connection shuts
//! down (after that last chunk is flushed).
//!
//! ```perl
//! ClientFlushed => sub {
//!   my $data_source = $_[HEAP]{file_handle};
//!   my $read_count = sysread($data_source, my $buffer = "", 65536);
//!   if ($read_count) { $_[HEAP]{client}->put($buffer) }
//!   else { $_[KERNEL]->yield("shutdown") }
//! },
//! ```
//!
//! `cargo run --example tcp_stream_flushed [PORT] [FILE]` (default 12345,
//! and this example's own source). Every client receives the whole file.

use poe::components::tcp::{FilterSpec, Server};
use poe::filters::Stream;
use poe::prelude::*;
use std::fs::File;
use std::io::Read;

/// Each connection's own data: the file it is being sent.
#[derive(Default)]
struct Sending {
    file: Option<File>,
}

fn next_chunk(ctx: &mut Ctx<poe::components::tcp::Connection<Sending>>) {
    let mut buf = vec![0u8; 4096];
    let n = match ctx.heap.file.as_mut() {
        Some(f) => f.read(&mut buf).unwrap_or(0),
        None => 0,
    };
    if n > 0 {
        buf.truncate(n);
        ctx.heap.client.put(buf).unwrap();
    } else {
        ctx.yield_("shutdown", ());
    }
}

fn main() {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .map_or(12345, |p| p.parse().expect("a port number"));
    let path = args.next().unwrap_or_else(|| file!().to_owned());
    let kernel = Kernel::new().unwrap();
    let server = Server::builder::<Sending>()
        .port(port)
        .client_filter(FilterSpec::new(Stream::new))
        .client_connected(move |ctx| {
            ctx.heap.file = File::open(&path).ok();
            next_chunk(ctx); // the first chunk; the rest follow each flush
        })
        .client_flushed(next_chunk)
        .client_input(|_| ())
        .spawn(&kernel)
        .expect("start the server");
    println!("listening on port {}", server.port());
    kernel.run();
}
