# A signal reaches a session and its descendants, deepest first; a terminal
# signal nobody handles stops them all (child before parent); one that is
# handled stops nobody; IDLE then ends the alias-only sessions.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
my $handle = 0;
sub node {
    my ($name, $child) = @_;
    POE::Session->create(inline_states => {
        _start => sub {
            $_[KERNEL]->alias_set($name);
            $_[KERNEL]->sig(TERM => 'term');
            $_[KERNEL]->sig(USR1 => 'usr', 'extra');
            node($child, undef) if defined $child && $child eq 'leaf';
            node($child, 'leaf') if defined $child && $child eq 'mid';
        },
        term => sub {
            print "$name got $_[ARG0] args=", join(',', @_[ARG1..$#_]), " sender=", sid($_[SENDER]), "\n";
            $_[KERNEL]->sig_handled if $handle && $name eq 'mid';
        },
        usr => sub { print "$name got $_[ARG0] args=", join(',', @_[ARG1..$#_]), "\n" },
        _child => sub { print "$name _child $_[ARG0] ", sid($_[ARG1]), "\n" },
        _stop => sub { print "$name stop\n" },
    });
}
node('top', 'mid');
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->yield('step1') },
    step1 => sub { print "benign\n"; $_[KERNEL]->signal(top => 'USR1', 'a', 'b'); $_[KERNEL]->yield('step2') },
    step2 => sub { print "handled\n"; $handle = 1; $_[KERNEL]->signal(top => 'TERM', 'h'); $_[KERNEL]->yield('step3') },
    step3 => sub { print "unhandled to mid\n"; $handle = 0; $_[KERNEL]->signal(mid => 'TERM', 'u'); $_[KERNEL]->yield('step4') },
    step4 => sub { print "after\n" },
    _stop => sub { print "driver stop\n" },
});
POE::Kernel->run;
print "run returned\n";
