#!/usr/bin/perl
# POE::Component::Client::TCP against a poe-rs Server::TCP (the rot13
# server): send lines, print what comes back, stop when disconnected.
# Usage: perl client.pl PORT
use strict;
use warnings;
use POE qw(Component::Client::TCP);

$| = 1;
my $port = shift or die "usage: $0 PORT\n";
POE::Component::Client::TCP->new(
    RemoteAddress => '127.0.0.1',
    RemotePort    => $port,
    Connected     => sub {
        print "connected\n";
        $_[HEAP]{server}->put($_) for 'Hello, World', 'quit';
    },
    ServerInput  => sub { print "input $_[ARG0]\n" },
    Disconnected => sub { print "disconnected\n" },
    ServerError  => sub { print "error $_[ARG0] $_[ARG1]\n"; $_[KERNEL]->yield('shutdown') },
    ConnectError => sub { print "connect error $_[ARG0] $_[ARG1] $_[ARG2]\n" },
);
POE::Kernel->run;
print "done\n";
