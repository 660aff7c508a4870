//! The rot13 server of POE::Component::Server::TCP's synopsis.
//!
//! ```perl
//! POE::Component::Server::TCP->new(
//!   Port => 12345,
//!   ClientConnected => sub {
//!     print "got a connection from $_[HEAP]{remote_ip}\n";
//!     $_[HEAP]{client}->put("Smile from the server!");
//!   },
//!   ClientInput => sub {
//!     my $client_input = $_[ARG0];
//!     $client_input =~ tr[a-zA-Z][n-za-mN-ZA-M];
//!     $_[HEAP]{client}->put($client_input);
//!   },
//! );
//! ```
//!
//! `cargo run --example tcp_rot13_server [PORT]` (default 12345; 0 picks a
//! free port). Try it with `nc 127.0.0.1 12345`.

use poe::components::tcp::Server;
use poe::prelude::*;

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='m' | 'A'..='M' => (c as u8 + 13) as char,
            'n'..='z' | 'N'..='Z' => (c as u8 - 13) as char,
            c => c,
        })
        .collect()
}

fn main() {
    env_logger::init();
    let port = std::env::args()
        .nth(1)
        .map_or(12345, |p| p.parse().expect("a port number"));
    let kernel = Kernel::new().unwrap();
    let server = Server::builder::<()>()
        .port(port)
        .client_connected(|ctx| {
            println!("got a connection from {}", ctx.heap.remote_ip);
            ctx.heap.client.put("Smile from the server!").unwrap();
        })
        .client_input(|ctx| {
            let input = rot13(&ctx.arg(0).to_string());
            ctx.heap.client.put(input).unwrap();
        })
        .spawn(&kernel)
        .expect("start the server");
    println!("listening on port {}", server.port());
    kernel.run();
}
