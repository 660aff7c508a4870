# Posts and nested calls between two aliased sessions; self-calls;
# SENDER, STATE, CALLER_STATE; collection order when both let go.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->alias_set('a') },
    go => sub {
        my $k = $_[KERNEL];
        print "a go sender=", sid($_[SENDER]), "\n";
        $k->post(b => 'p1');
        my $r = $k->call(b => 'c1', 5);
        print "a call returned $r\n";
        $k->yield('a2');
        $k->post(b => 'p2');
        $k->alias_remove('a');
    },
    from_b => sub { print "a from_b sender=", sid($_[SENDER]), "\n" },
    a2 => sub { print "a a2 caller_state=$_[CALLER_STATE]\n" },
    _stop => sub { print "a stop\n" },
});
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->alias_set('b') },
    c1 => sub {
        my $k = $_[KERNEL];
        print "b c1 $_[ARG0] state=$_[STATE] caller_state=$_[CALLER_STATE] sender=", sid($_[SENDER]), "\n";
        $k->post(a => 'from_b');
        my $inner = $k->call($_[SESSION], 'inner', 7);
        print "b inner returned $inner active_event=", $k->get_active_event, "\n";
        return $_[ARG0] * 2;
    },
    inner => sub {
        print "b inner $_[ARG0] state=$_[STATE] sender=", sid($_[SENDER]), "\n";
        return $_[ARG0] + 1;
    },
    p1 => sub { print "b p1 caller_state=$_[CALLER_STATE]\n" },
    p2 => sub { print "b p2\n"; $_[KERNEL]->alias_remove('b') },
    _stop => sub { print "b stop\n" },
});
$poe_kernel->post(a => 'go');
POE::Kernel->run;
print "done\n";
