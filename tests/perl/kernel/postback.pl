# A postback keeps its session alive until it is destroyed; calling it
# posts with ARG0 = [context] and ARG1 = [call args]. A callback returns
# the handler's value.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
my ($pb, $cb);
POE::Session->create(inline_states => {
    _start => sub {
        $pb = $_[SESSION]->postback(got => 'ctx1', 'ctx2');
        $cb = $_[SESSION]->callback(add => 40);
    },
    got => sub { print "got [", join(',', @{$_[ARG0]}), "] [", join(',', @{$_[ARG1]}), "] sender=", sid($_[SENDER]), "\n" },
    add => sub { return $_[ARG0][0] + $_[ARG1][0] },
    _stop => sub { print "target stop\n" },
});
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->delay(fire => 0.05) },
    fire => sub {
        print "callback returned ", $cb->(2), "\n";
        $pb->('x', 'y');
        undef $pb; undef $cb;
        print "released\n";
    },
    _stop => sub { print "caller stop\n" },
});
POE::Kernel->run;
