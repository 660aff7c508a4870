#!/usr/bin/perl
# Perl POE 1.370 side of `cargo bench --bench echo`: a line echo server
# built from SocketFactory + ReadWrite (the Line filter), as POE's docs show.
# Binds 127.0.0.1:0, prints the port, serves until killed.
use strict;
use warnings;
use POE qw(Wheel::SocketFactory Wheel::ReadWrite);
use Socket qw(unpack_sockaddr_in);

$| = 1;
POE::Session->create(inline_states => {
    _start => sub {
        $_[HEAP]{listener} = POE::Wheel::SocketFactory->new(
            BindAddress  => '127.0.0.1',
            BindPort     => 0,
            Reuse        => 'yes',
            SuccessEvent => 'accepted',
            FailureEvent => 'failed',
        );
        my ($port) = unpack_sockaddr_in($_[HEAP]{listener}->getsockname);
        print "$port\n";
    },
    accepted => sub {
        my $w = POE::Wheel::ReadWrite->new(
            Handle     => $_[ARG0],
            InputEvent => 'input',
            ErrorEvent => 'error',
        );
        $_[HEAP]{clients}{$w->ID} = $w;
    },
    input  => sub { $_[HEAP]{clients}{$_[ARG1]}->put($_[ARG0]) },
    error  => sub { delete $_[HEAP]{clients}{$_[ARG3]} },
    failed => sub { die "listener failed: @_[ARG0..ARG2]\n" },
});
POE::Kernel->run;
