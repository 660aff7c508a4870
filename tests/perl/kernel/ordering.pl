# Posts, past-due alarms and future alarms set in one handler (§1.2).
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->yield('go') },
    go => sub {
        my $k = $_[KERNEL];
        my $now = time;
        $k->yield('p1');
        $k->yield('p2');
        $k->alarm(past => $now - 10);
        $k->alarm_add(zero => 0);
        $k->yield('p3');
        $k->delay_add(l1 => 0.1);
        $k->alarm_add($_ => $now + 0.2) for qw(s1 s2 s3);
        $k->yield('p4');
    },
    (map { my $n = $_; ($n => sub { print "$n\n" }) } qw(p1 p2 p3 p4 past zero l1 s1 s2 s3)),
});
POE::Kernel->run;
