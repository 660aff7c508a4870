# IDLE comes when only aliases keep sessions alive. Handling it and queueing
# work keeps the program going; handling it without queueing anything
# brings ZOMBIE, which stops everyone anyway. (One session only: POE stops
# siblings in hash order, which varies from run to run.)
use FindBin; BEGIN { require "$FindBin::Bin/common.pl" }
my $n = 0;
POE::Session->create(inline_states => {
    _start => sub { $_[KERNEL]->alias_set('daemon'); $_[KERNEL]->sig(IDLE => 'idle'); $_[KERNEL]->sig(ZOMBIE => 'zombie') },
    idle => sub {
        $n++;
        print "idle $n\n";
        $_[KERNEL]->sig_handled;
        $_[KERNEL]->yield('work') if $n < 3;
    },
    work => sub { print "work $n\n" },
    zombie => sub { print "zombie\n"; $_[KERNEL]->sig_handled },
    _stop => sub { print "daemon stop\n" },
});
POE::Kernel->run;
print "run returned\n";
