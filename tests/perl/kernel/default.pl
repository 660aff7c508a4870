# _default catches unknown events, and _stop, _child and _parent that have
# no handler; its return value from _stop reaches the parent's _child.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
POE::Session->create(inline_states => {
    _start => sub {
        POE::Session->create(inline_states => {
            _start => sub { $_[KERNEL]->yield('mystery', 1, 2); return 'started' },
            _default => sub {
                my ($ev, $args) = @_[ARG0, ARG1];
                print "child _default $ev [", join(',', map { ref $_ ? 'ref' : val($_) } @$args), "] state=$_[STATE]\n";
                return "from default $ev";
            },
        });
    },
    _child => sub { print "parent _child $_[ARG0] ", sid($_[ARG1]), " ", val($_[ARG2]), "\n" },
    _stop => sub { print "parent stop\n" },
});
POE::Kernel->run;
