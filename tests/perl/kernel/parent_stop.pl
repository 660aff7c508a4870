# A forced stop of a parent with a live child (§5.2): the victim's DIE is
# handled by nobody, so it and its ancestors stop; the parent first hands
# its surviving child to the grandparent (_child gain, two arguments, then
# _parent), and the grandparent hands it on to the kernel in turn.
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
sub node {
    my ($name, @kids) = @_;
    POE::Session->create(inline_states => {
        _start => sub {
            $_[KERNEL]->alias_set($name);
            node(@$_) for @kids;
            return "$name-s";
        },
        boom => sub { die "$name broke\n" },
        _child => sub {
            my @args = @_[ARG0 .. $#_];
            print "$name _child $args[0] ", sid($args[1]),
                " nargs=", scalar(@args), (@args > 2 ? " ret=" . val($args[2]) : ''), "\n";
        },
        _parent => sub { print "$name _parent old=", sid($_[ARG0]), " new=", sid($_[ARG1]), "\n" },
        _stop => sub { print "$name stop\n"; return "$name-x" },
    });
}
node('grand', ['parent', ['victim'], ['sibling']]);
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->yield('go') },
    go => sub { print "go\n"; $_[KERNEL]->post(victim => 'boom') },
});
eval { POE::Kernel->run };
print "run died: $@";
