#!/usr/bin/perl
# POE::Component::Server::TCP for a poe-rs Client::TCP: prints its port,
# answers each line with "you said: LINE" (and the line count), closes on
# "quit", and exits after one client.
use strict;
use warnings;
use POE qw(Component::Server::TCP);
use Socket qw(unpack_sockaddr_in);

$| = 1;
POE::Component::Server::TCP->new(
    Address => '127.0.0.1',
    Port    => 0,
    Alias   => 'server',
    Started => sub {
        my ($port) = unpack_sockaddr_in($_[HEAP]{listener}->getsockname);
        print "$port\n";
    },
    ClientConnected => sub { $_[HEAP]{client}->put("welcome $_[HEAP]{remote_ip}") },
    ClientInput     => sub {
        my $line = $_[ARG0];
        $_[HEAP]{count}++;
        if ($line eq 'quit') {
            $_[HEAP]{client}->put("bye after $_[HEAP]{count}");
            $_[KERNEL]->yield('shutdown');
            return;
        }
        $_[HEAP]{client}->put("you said: $line");
    },
    ClientDisconnected => sub { $_[KERNEL]->post(server => 'shutdown') },
);
POE::Kernel->run;
