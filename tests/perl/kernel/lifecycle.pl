# _start return values, _child create/lose, detach_myself, detach_child,
# _parent, and a parent outliving its children.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
POE::Session->create(inline_states => {
    _start => sub {
        print "parent start\n";
        for my $n (1 .. 3) {
            POE::Session->create(inline_states => {
                _start => sub {
                    print "child$n start sender=", sid($_[SENDER]), "\n";
                    $_[KERNEL]->alias_set("c$n") if $n == 3;
                    $_[KERNEL]->delay(done => 0.05 * $n) if $n == 1;
                    $_[KERNEL]->yield('leave') if $n == 2;
                    return "r$n";
                },
                done => sub { print "child$n done\n" },
                leave => sub {
                    my $ok = $_[KERNEL]->detach_myself;
                    print "child$n detached ", val($ok), "\n";
                    my $again = $_[KERNEL]->detach_myself;
                    print "child$n detach again ", val($again), " errno=", ($! + 0), "\n";
                },
                _parent => sub { print "child$n _parent old=", sid($_[ARG0]), " new=", sid($_[ARG1]), "\n" },
                _stop => sub { print "child$n stop\n"; return "x$n" },
            });
            print "parent created child$n\n";
        }
        $_[KERNEL]->delay(drop3 => 0.1);
        return 'pr';
    },
    drop3 => sub {
        my $ok = $_[KERNEL]->detach_child('c3');
        print "parent detach_child c3 ", val($ok), "\n";
        my $bad = $_[KERNEL]->detach_child('c3');
        print "parent detach_child c3 again ", val($bad), " errno=", ($! + 0), "\n";
        $_[KERNEL]->post(c3 => 'release');
    },
    _child => sub { print "parent _child $_[ARG0] ", sid($_[ARG1]), " ", val($_[ARG2]), "\n" },
    _stop => sub { print "parent stop\n" },
});
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->alias_set('keeper'); $_[KERNEL]->delay(bye => 0.2) },
    bye => sub { $_[KERNEL]->post(c3 => 'noop'); $_[KERNEL]->alias_remove('keeper'); print "keeper bye\n" },
    _stop => sub { print "keeper stop\n" },
});
POE::Kernel->run;
