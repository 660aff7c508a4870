#!/usr/bin/perl
# Perl POE 1.370 side of `cargo bench --bench kernel`: the same workloads as
# benches/kernel.rs, printing the same `bench=... impl=perl-poe ...` lines.
# Usage: perl kernel.pl <bench> <count>
use strict;
use warnings;
use Time::HiRes qw(time);
use POE;

my ($bench, $n) = @ARGV;
die "usage: $0 yield|call|post_ring|alarms|session_churn COUNT\n" unless $bench && $n;

sub cpu { my @t = times; return $t[0] + $t[1] }
sub report { printf "bench=%s impl=perl-poe metric=%s value=%.0f\n", @_ }

if ($bench eq 'yield') {
    my ($left, $t0) = ($n);
    POE::Session->create(inline_states => {
        _start => sub { $t0 = time; $_[KERNEL]->yield('e') },
        e => sub { $_[KERNEL]->yield('e') if --$left > 0 },
    });
    POE::Kernel->run;
    report('yield', 'events_per_s', $n / (time - $t0));
}
elsif ($bench eq 'call') {
    # By session, as benches/kernel.rs calls by session handle.
    my $callee = POE::Session->create(inline_states => {
        _start => sub {},
        c => sub { return $_[ARG0] + 1 },
    });
    my $t;
    POE::Session->create(inline_states => {
        _start => sub {
            my $k = $_[KERNEL];
            my $t0 = time;
            my $x = 0;
            $x = $k->call($callee => 'c', $x) for 1 .. $n;
            $t = time - $t0;
        },
    });
    POE::Kernel->run;
    report('call', 'calls_per_s', $n / $t);
}
elsif ($bench eq 'post_ring') {
    # By session ID and held by a refcount, as the Rust side does.
    my $ring = 10;
    my ($left, $t0, @ids) = ($n);
    for my $i (0 .. $ring - 1) {
        POE::Session->create(inline_states => {
            _start => sub {
                $ids[$i] = $_[SESSION]->ID;
                $_[KERNEL]->refcount_increment($ids[$i], 'ring');
            },
            hop => sub {
                if (--$left > 0) { $_[KERNEL]->post($ids[($i + 1) % $ring] => 'hop') }
                else { $_[KERNEL]->refcount_decrement($_, 'ring') for @ids }
            },
        });
    }
    $t0 = time;
    $poe_kernel->post($ids[0] => 'hop');
    POE::Kernel->run;
    report('post_ring', 'events_per_s', $n / (time - $t0));
}
elsif ($bench eq 'alarms') {
    # The same xorshift numbers as benches/kernel.rs: offsets within one
    # second, then which half to remove (a partial Fisher-Yates shuffle).
    my $x = 42;
    my $next = sub { $x ^= $x << 13; $x ^= $x >> 7; $x ^= $x << 17; $x };
    my @offsets = map { ($next->() >> 11) / 2**53 } 1 .. $n;
    my @order = (0 .. $n - 1);
    my $half = int($n / 2);
    for my $i (0 .. $half - 1) {
        my $j = $i + $next->() % ($n - $i);
        @order[$i, $j] = @order[$j, $i];
    }
    my @removals = @order[0 .. $half - 1];
    my $to_fire = $n - $half;
    my ($c0, $c1, $fired) = (0, 0, 0);
    POE::Session->create(inline_states => {
        _start => sub {
            my $k = $_[KERNEL];
            $c0 = cpu();
            my $base = time;
            my @ids = map { $k->alarm_set(a => $base + $_) } @offsets;
            $k->alarm_remove($ids[$_]) for @removals;
        },
        # The clock stops at the last fire, as in benches/kernel.rs.
        a => sub { $c1 = cpu() if ++$fired == $to_fire },
    });
    POE::Kernel->run;
    report('alarms', 'alarms_per_cpu_s', $n / ($c1 - $c0));
}
elsif ($bench eq 'session_churn') {
    my $t0 = time;
    POE::Session->create(inline_states => {
        _start => sub {
            for (1 .. $n) {
                POE::Session->create(inline_states => { _start => sub {}, _stop => sub {} });
            }
        },
    });
    POE::Kernel->run;
    report('session_churn', 'sessions_per_s', $n / (time - $t0));
}
else { die "unknown bench $bench\n" }
