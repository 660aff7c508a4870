# The alarm API's return values and firing order: alarm_set/delay_set IDs,
# alarm_adjust moving an alarm past others, delay_adjust, alarm_remove,
# alarm() clearing by name, alarm_remove_all.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
my $base;
sub rel { sprintf('%.2f', $_[0] - $base) }
POE::Session->create(inline_states => {
    _start => sub {
        my $k = $_[KERNEL];
        $base = time;
        my %id;
        $id{$_} = $k->alarm_set($_ => $base + substr($_, 1)) for qw(a1 a2 a3 a4 a5);
        print "adjust a1 +2.5 -> ", rel($k->alarm_adjust($id{a1}, 2.5)), "\n";
        print "adjust a5 -4.5 -> ", rel($k->alarm_adjust($id{a5}, -4.5)), "\n";
        my @r = $k->alarm_remove($id{a3});
        print "removed $r[0] due ", rel($r[1]), "\n";
        my @again = $k->alarm_remove($id{a3});
        print "remove again: ", scalar(@again), " errno=", ($! + 0), "\n";
        my $d = $k->delay_set(d1 => 10);
        # Relative to "now", so only a tenth of a second is deterministic.
        printf "delay_adjust d1 3.2 -> %.1f\n", $k->delay_adjust($d, 3.2) - $base;
        $k->delay_add(dup => 1) for 1 .. 3;
        $k->delay(dup => 2);
        $k->alarm_add(gone => $base + 1);
        $k->alarm_add(gone => $base + 2);
        $k->alarm('gone');
        print "alarm_add undef name: ", $k->alarm_add(undef, 1), "\n";
        $k->delay(bulk => 7) ; $k->delay_add(bulk2 => 8, 'arg');
        $k->yield('clear');
    },
    clear => sub {
        my @all = $_[KERNEL]->alarm_remove_all;
        print "remove_all: ", join(' ', map { $_->[0] } @all), "\n";
        $_[KERNEL]->delay(late => 0.5);
    },
    _default => sub { print "fired $_[ARG0]\n" unless $_[ARG0] =~ /^_/; return },
});
POE::Kernel->run;
