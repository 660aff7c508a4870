# _default receives _child and _parent when a session has no handler for
# them (§4): the parent hears _child create and lose, the child _parent,
# with the original arguments as a list in ARG1.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
sub show {
    my ($who) = @_;
    return sub {
        my ($ev, $args) = @_[ARG0, ARG1];
        return if $ev eq '_stop';
        print "$who _default $ev [", join(',', map { ref $_ ? sid($_) : val($_) } @$args),
            "] state=$_[STATE]\n";
        return;
    };
}
POE::Session->create(inline_states => {
    _start => sub {
        for my $n (1, 2) {
            POE::Session->create(inline_states => {
                _start => sub { $_[KERNEL]->yield('leave') if $n == 1; "started$n" },
                leave => sub { $_[KERNEL]->detach_myself; print "child$n detached\n" },
                _default => show("child$n"),
                _stop => sub { print "child$n stop\n"; "x$n" },
            });
        }
    },
    _default => show('parent'),
    _stop => sub { print "parent stop\n" },
});
POE::Kernel->run;
