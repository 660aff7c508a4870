//! The HEAD client of POE::Component::Client::TCP's synopsis, pointed at
//! any host (a local one by default).
//!
//! ```perl
//! POE::Component::Client::TCP->new(
//!   RemoteAddress => "yahoo.com",
//!   RemotePort    => 80,
//!   Connected     => sub { $_[HEAP]{server}->put("HEAD /") },
//!   ServerInput   => sub { print "from server: $_[ARG0]\n" },
//! );
//! ```
//!
//! `cargo run --example tcp_head_client [HOST] [PORT]` (default
//! 127.0.0.1 80). It sends `HEAD / HTTP/1.0` and prints every line of the
//! answer; the client ends when the server closes the connection.

use poe::components::tcp::Client;
use poe::prelude::*;

fn main() {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_owned());
    let port: u16 = args
        .next()
        .map_or(80, |p| p.parse().expect("a port number"));
    let kernel = Kernel::new().unwrap();
    Client::builder::<()>(host.as_str(), port)
        .connected(|ctx| {
            // A request line and the blank line that ends the request.
            ctx.heap.server.put("HEAD / HTTP/1.0").unwrap();
            ctx.heap.server.put("").unwrap();
        })
        .server_input(|ctx| println!("from server: {}", ctx.arg(0)))
        .connect_error(|ctx| {
            eprintln!(
                "cannot connect: {} error {}: {}",
                ctx.arg(0),
                ctx.arg(1),
                ctx.arg(2)
            )
        })
        .disconnected(|_| println!("disconnected"))
        .spawn(&kernel)
        .expect("start the client");
    kernel.run();
}
