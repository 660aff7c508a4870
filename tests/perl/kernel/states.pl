# state() adds, replaces and removes handlers at run time; events already
# queued see the change.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
POE::Session->create(inline_states => {
    _start => sub {
        $_[KERNEL]->yield('dyn', 1);
        $_[KERNEL]->state(dyn => sub { print "dyn v1 $_[ARG0]\n" });
        $_[KERNEL]->yield('swap');
        $_[KERNEL]->yield('dyn', 2);
        $_[KERNEL]->yield('gone');
        $_[KERNEL]->yield('dyn', 3);
    },
    swap => sub { $_[KERNEL]->state(dyn => sub { print "dyn v2 $_[ARG0]\n" }); print "swapped\n" },
    gone => sub { my $r = $_[KERNEL]->state('dyn'); print "removed $r\n" },
    _default => sub { print "default $_[ARG0]\n" unless $_[ARG0] =~ /^_/; return },
});
POE::Kernel->run;
