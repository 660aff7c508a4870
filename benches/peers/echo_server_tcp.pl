#!/usr/bin/perl
# Perl POE 1.370 side of `cargo bench --bench echo`'s echo_server_tcp and
# accept_rate: POE::Component::Server::TCP echoing lines. Binds
# 127.0.0.1:0, prints the port, serves until killed.
use strict;
use warnings;
use POE qw(Component::Server::TCP);
use Socket qw(unpack_sockaddr_in);

$| = 1;
POE::Component::Server::TCP->new(
    Address     => '127.0.0.1',
    Port        => 0,
    Started     => sub {
        my ($port) = unpack_sockaddr_in($_[HEAP]{listener}->getsockname);
        print "$port\n";
    },
    ClientInput => sub { $_[HEAP]{client}->put($_[ARG0]) },
    # The load generator hangs up with echoes in flight; the default
    # handler would warn about each one.
    ClientError => sub { },
);
POE::Kernel->run;
