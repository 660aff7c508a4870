# A die in a handler becomes DIE: watchers run deepest descendant first,
# then the session, then its ancestors (siblings not); sig_handled keeps
# everyone running. Unhandled, the touched sessions stop, then every other
# session, and run() dies with the error.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
my $handle = 1;
sub node {
    my ($name, @children) = @_;
    POE::Session->create(inline_states => {
        _start => sub {
            $_[KERNEL]->alias_set($name);
            $_[KERNEL]->sig(DIE => 'die');
            node(@$_) for @children;
        },
        die => sub {
            my $ex = $_[ARG1];
            (my $error = $ex->{error_str}) =~ s/\n$//;
            my ($dest) = $_[KERNEL]->alias_list($ex->{dest_session});
            print "$name got $_[ARG0] event=$ex->{event} error=$error dest=$dest\n";
            $_[KERNEL]->sig_handled if $handle && $name eq 'top';
        },
        boom => sub { die "$name broke\n" },
        _child => sub { print "$name _child $_[ARG0]\n" },
        _stop => sub { print "$name stop\n" },
    });
}
node('top', ['mid', ['leaf']], ['sibling']);
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->yield('step1') },
    step1 => sub { print "handled\n"; $_[KERNEL]->post(mid => 'boom'); $_[KERNEL]->yield('step2') },
    step2 => sub { $_[KERNEL]->yield('step3') },
    step3 => sub { print "unhandled\n"; $handle = 0; $_[KERNEL]->post(leaf => 'boom') },
    _stop => sub { print "driver stop\n" },
});
eval { POE::Kernel->run };
(my $err = $@) =~ s/\n+$//;
print "run died: $err\n";
