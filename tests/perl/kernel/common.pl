# Shared helpers for the kernel trace scenarios.
use strict;
use warnings;
use Time::HiRes qw(time);
use POE;

# How a session is printed: its ID, or "kernel".
sub sid {
    my ($s) = @_;
    return 'undef' unless defined $s;
    return 'kernel' if $s == $poe_kernel;
    return $s->ID;
}

sub val { defined $_[0] ? $_[0] : 'undef' }

$| = 1;
1;
