# When _stop comes: right after the handler that removed the last alarm,
# once the current batch is done; after the last alias goes; and a session
# holding only events it sent stays until they are delivered.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->alias_set('timer'); $_[HEAP]{id} = $_[KERNEL]->delay_set(never => 100) },
    cancel => sub {
        my @r = $_[KERNEL]->alarm_remove($_[HEAP]{id});
        print "timer cancel removed $r[0]\n";
        $_[KERNEL]->alias_remove('timer');
    },
    never => sub { print "timer never\n" },
    _stop => sub { print "timer stop\n" },
});
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->alias_set('other') },
    e1 => sub { print "other e1\n"; $_[KERNEL]->yield('e2') },
    e2 => sub { print "other e2\n"; $_[KERNEL]->post(sink => 'last'); $_[KERNEL]->alias_remove('other') },
    _stop => sub { print "other stop\n" },
});
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->alias_set('sink') },
    last => sub { print "sink last\n"; $_[KERNEL]->alias_remove('sink') },
    _stop => sub { print "sink stop\n" },
});
$poe_kernel->post(timer => 'cancel');
$poe_kernel->post(other => 'e1');
POE::Kernel->run;
