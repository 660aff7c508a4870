# Alarms due at the same time: alarm_set and alarm_add queue a new alarm
# after those already due then, and alarm_adjust re-queues a moved alarm
# after them too (POE::Queue::Array re-inserts it); a zero adjustment leaves
# it where it was. All are in the past, so they fire in one batch.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
POE::Session->create(inline_states => {
    _start => sub {
        my $k = $_[KERNEL];
        my $base = time;
        my $adjust = sub {
            my ($name, $id, $delta) = @_;
            printf "adjust %s %+d -> %.2f\n", $name, $delta, $k->alarm_adjust($id, $delta) - $base;
        };
        my %id;
        $id{a} = $k->alarm_set(a => $base - 5);
        $id{b} = $k->alarm_set(b => $base - 4);
        $id{c} = $k->alarm_set(c => $base - 4);
        $id{d} = $k->alarm_set(d => $base - 3);
        $adjust->(a => $id{a}, 1);
        $id{e} = $k->alarm_set(e => $base - 4);
        $adjust->(d => $id{d}, -1);
        $adjust->(c => $id{c}, 0);
        $id{f} = $k->alarm_set(f => $base - 6);
        $id{g} = $k->alarm_set(g => $base - 7);
        $adjust->(g => $id{g}, 1);
        $k->alarm_add(h => $base - 4);
    },
    _default => sub { print "fired $_[ARG0]\n" unless $_[ARG0] =~ /^_/; return },
});
POE::Kernel->run;
