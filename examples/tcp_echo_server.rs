//! The echo server of POE::Component::Server::TCP's description: every
//! line comes back as it was sent.
//!
//! ```perl
//! POE::Component::Server::TCP->new(
//!   Port => 12345,
//!   ClientInput => sub { $_[HEAP]{client}->put($_[ARG0]) },
//! );
//! ```
//!
//! `cargo run --example tcp_echo_server [PORT]` (default 12345).

use poe::components::tcp::Server;
use poe::prelude::*;

fn main() {
    env_logger::init();
    let port = std::env::args()
        .nth(1)
        .map_or(12345, |p| p.parse().expect("a port number"));
    let kernel = Kernel::new().unwrap();
    let server = Server::builder::<()>()
        .port(port)
        .client_input(|ctx| {
            let line = ctx.take_arg(0);
            ctx.heap.client.put(line).unwrap();
        })
        .spawn(&kernel)
        .expect("start the server");
    println!("listening on port {}", server.port());
    kernel.run();
}
