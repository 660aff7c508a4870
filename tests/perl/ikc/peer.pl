#!/usr/bin/perl
# A "real Perl" IKC peer for poe-rs tests and benchmarks.
#
# It speaks the POE::Component::IKC 0.2402 wire protocol (see
# /work/shared/ikc-protocol.md) on top of plain POE 1.370: SocketFactory,
# ReadWrite, Filter::Line for the negotiation and Filter::Reference
# (Storable nfreeze) for the frames.  The IKC module itself is not needed
# (it is not packaged in Debian); nothing of its code is used.
#
#   peer.pl server [--port N] [--name NAME] [--protocol IKC0|IKC] [--log-bench] [--verbose]
#   peer.pl client --port N --server-name NAME [--host H] [--name perlcli]
#                  [--protocol IKC0|IKC] [--timeout S] [--quit] [--verbose]
#   peer.pl bench-client --port N --server-name NAME --posts P --calls C
#                  [--host H] [--name perlbench] [--protocol IKC0|IKC] [--timeout S] [--quit]
#
# See README.md next to this file for the output formats and contracts.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Getopt::Long qw(GetOptions);
use POE qw(Wheel::SocketFactory);
use Socket qw(sockaddr_in);
use Time::HiRes qw(time);
use IKCPeer::Responder;
use IKCPeer::Channel;
use IKCPeer::Contract;
use IKCPeer::Scenario;

$| = 1;

my %opt = (
    host     => '127.0.0.1',
    port     => 0,
    protocol => 'IKC0',
    timeout  => 20,
    posts    => 10000,
    calls    => 1000,
);

sub usage {
    print STDERR <<'USAGE';
usage: peer.pl server [--port N] [--name NAME] [--protocol IKC0|IKC] [--log-bench] [--verbose]
       peer.pl client --port N --server-name NAME [--host H] [--name NAME] [--protocol IKC0|IKC]
                      [--timeout S] [--quit] [--verbose]
       peer.pl bench-client --port N --server-name NAME --posts P --calls C [--host H]
                      [--name NAME] [--protocol IKC0|IKC] [--timeout S] [--quit]
USAGE
    exit 2;
}

my $mode = shift @ARGV;
usage() unless defined $mode;
GetOptions(\%opt, 'port=i', 'host=s', 'name=s', 'protocol=s', 'server-name=s',
    'timeout=i', 'posts=i', 'calls=i', 'quit', 'verbose', 'log-bench')
    or usage();
usage() unless $opt{protocol} =~ /\A(?:IKC0|IKC)\z/;

if    ($mode eq 'server')       { run_server() }
elsif ($mode eq 'client')       { run_client() }
elsif ($mode eq 'bench-client') { run_bench_client() }
else                            { usage() }
exit 0;

#---------------------------------------------------------------------
# server

sub run_server {
    my $name = defined $opt{name} ? $opt{name} : 'perlsrv';
    my (%open, $quitting);

    my $maybe_exit = sub {
        return unless $quitting && !%open;
        print "BYE\n";
        exit 0;
    };

    # Session creation order gives echo the POE session ID 3, as in the
    # transcript (its RSVP addresses carry that number).
    IKCPeer::Responder::spawn(                                   # session 1: IKC
        name  => $name,
        quiet => $opt{'log-bench'} ? [] : ['bench'],
    );
    POE::Session->create(                                        # session 2: listener
        inline_states => {
            _start => sub {
                my ($kernel, $heap) = @_[KERNEL, HEAP];
                $kernel->alias_set('listener');
                $heap->{factory} = POE::Wheel::SocketFactory->new(
                    BindAddress  => '127.0.0.1',
                    BindPort     => $opt{port},
                    Reuse        => 'yes',
                    SuccessEvent => 'accepted',
                    FailureEvent => 'listen_failed',
                );
                my ($port) = sockaddr_in($heap->{factory}->getsockname);
                print "READY $port\n";
                # Tests start us as a child: do not outlive them.
                $heap->{ppid} = getppid;
                $kernel->delay(watch_parent => 1);
            },
            _stop  => sub { },
            _child => sub { },
            accepted => sub {
                my $chan;
                $chan = IKCPeer::Channel->spawn(
                    handle   => $_[ARG0],
                    role     => 'server',
                    protocol => $opt{protocol},
                    verbose  => $opt{verbose},
                    on_close => sub { delete $open{ $_[0] }; $maybe_exit->() },
                );
                $open{$chan} = $chan;
            },
            listen_failed => sub {
                my ($op, $errnum, $errstr) = @_[ARG0 .. ARG2];
                die "listen: $op error $errnum: $errstr\n";
            },
            watch_parent => sub {
                my ($kernel, $heap) = @_[KERNEL, HEAP];
                if (getppid != $heap->{ppid}) {
                    print STDERR "peer.pl server: parent went away, exiting\n";
                    exit 1;
                }
                $kernel->delay(watch_parent => 1);
            },
            stop_listening => sub {
                delete $_[HEAP]{factory};
                $_[KERNEL]->delay('watch_parent');
                $_[KERNEL]->alias_remove('listener');
            },
        },
    );
    IKCPeer::Contract::spawn_echo(                                # session 3: echo
        on_quit => sub {
            $quitting = 1;
            print "QUIT\n";
            # Whatever still holds a session open, we are gone in 3 s.
            $SIG{ALRM} = sub { print "BYE\n"; exit 0 };
            alarm 3;
            $poe_kernel->post(listener => 'stop_listening');
            $poe_kernel->post(bench => 'quit');
            IKCPeer::Responder::shutdown();
            $_->shutdown for values %open;
        },
    );
    IKCPeer::Contract::spawn_bench();                             # session 4: bench

    POE::Kernel->run;
    print "BYE\n";
}

#---------------------------------------------------------------------
# Connecting (client and bench-client)

# Connect to the server and spawn a client channel on the socket.
# on_ready(CHANNEL) after negotiation, on_fail(REASON), on_close(CHANNEL).
sub connect_channel {
    my (%p) = @_;
    POE::Session->create(
        inline_states => {
            _start => sub {
                $_[HEAP]{factory} = POE::Wheel::SocketFactory->new(
                    RemoteAddress => $opt{host},
                    RemotePort    => $opt{port},
                    SuccessEvent  => 'connected',
                    FailureEvent  => 'failed',
                );
            },
            _stop  => sub { },
            _child => sub { },
            connected => sub {
                delete $_[HEAP]{factory};
                IKCPeer::Channel->spawn(
                    handle     => $_[ARG0],
                    role       => 'client',
                    protocol   => $opt{protocol},
                    connect_to => "$opt{host}:$opt{port}",
                    verbose    => $opt{verbose},
                    on_ready   => $p{on_ready},
                    on_close   => $p{on_close},
                );
            },
            failed => sub {
                my ($op, $errnum, $errstr) = @_[ARG0 .. ARG2];
                delete $_[HEAP]{factory};
                $p{on_fail}->("$op error $errnum: $errstr");
            },
        },
    );
}

# Last resort against hangs: the POE-level timeouts should fire first.
sub hard_timeout {
    my ($seconds, $what) = @_;
    $SIG{ALRM} = sub {
        print "FAIL $what: hard timeout after $seconds s\nDONE 1\n";
        exit 2;
    };
    alarm $seconds;
}

#---------------------------------------------------------------------
# client

sub run_client {
    usage() unless $opt{port} && defined $opt{'server-name'};
    my $name = defined $opt{name} ? $opt{name} : 'perlcli';
    my ($chan, $done, $code) = (undef, 0, 1);
    hard_timeout($opt{timeout} + 10, 'client');

    # Our stdout is the scenario's report; what arrives goes to stderr.
    IKCPeer::Responder::spawn(
        name => $name,
        log  => sub { print STDERR '# ', @_, "\n" if $opt{verbose} },
    );
    IKCPeer::Scenario->spawn(
        server  => $opt{'server-name'},
        name    => $name,
        timeout => $opt{timeout},
        quit    => $opt{quit},
        on_done => sub {
            ($done, $code) = (1, $_[0] ? 1 : 0);
            IKCPeer::Responder::shutdown();
            $poe_kernel->post($_ => 'shutdown') for ("poe://$opt{'server-name'}/echo");
            exit $code unless $chan;
            $chan->shutdown;
            $SIG{ALRM} = sub { exit $code };
            alarm 3;
        },
    );
    connect_channel(
        on_ready => sub { $chan = $_[0]; $poe_kernel->post(tester => connected => $chan) },
        on_fail  => sub { $poe_kernel->post(tester => connect_failed => $_[0]) },
        on_close => sub {
            exit $code if $done;
            $chan = undef;
            $poe_kernel->post(tester => connection_lost => 'connection closed by the server');
        },
    );
    POE::Kernel->run;
    exit $code;
}

#---------------------------------------------------------------------
# bench-client

sub run_bench_client {
    usage() unless $opt{port} && defined $opt{'server-name'};
    my $name = defined $opt{name} ? $opt{name} : 'perlbench';
    my $srv  = $opt{'server-name'};
    my ($posts, $calls) = ($opt{posts}, $opt{calls});
    my ($chan, $code) = (undef, 1);
    hard_timeout($opt{timeout} + 10, 'bench');

    my $finish = sub {
        ($code) = @_;
        IKCPeer::Responder::post("poe://$srv/echo/quit", undef)
            if $opt{quit} && IKCPeer::Responder::connected();
        $poe_kernel->alias_remove('benchcli');
        $poe_kernel->delay('timeout');
        IKCPeer::Responder::shutdown();
        exit $code unless $chan;
        $chan->shutdown;
    };

    IKCPeer::Responder::spawn(name => $name, log => sub { });
    POE::Session->create(
        inline_states => {
            _start => sub {
                $_[KERNEL]->alias_set('benchcli');
                $_[KERNEL]->delay(timeout => $opt{timeout});
            },
            _stop => sub { },
            timeout => sub {
                print STDERR "bench-client: timed out after $opt{timeout} s\n";
                $finish->(1);
            },
            failed => sub {
                print STDERR "bench-client: $_[ARG0]\n";
                $finish->(1);
            },
            # One-way posts, in batches so that writing overlaps queueing.
            start => sub {
                my $heap = $_[HEAP];
                $heap->{sent} = 0;
                $heap->{t0}   = time;
                $_[KERNEL]->yield('post_batch');
            },
            post_batch => sub {
                my $heap = $_[HEAP];
                my $n = $posts - $heap->{sent};
                $n = 500 if $n > 500;
                IKCPeer::Responder::post("poe://$srv/bench/count", [ 1, 'two', 3.5 ]) for 1 .. $n;
                $heap->{sent} += $n;
                return $_[KERNEL]->yield('post_batch') if $heap->{sent} < $posts;
                # The count comes back once every post has been handled.
                IKCPeer::Responder::call("poe://$srv/bench/total", undef, 'poe:total');
            },
            total => sub {
                my ($heap, $count) = @_[HEAP, ARG0];
                my $elapsed = time - $heap->{t0};
                printf "bench=ikc_post impl=perl-poe metric=posts_per_s value=%.0f\n", $posts / $elapsed;
                unless (defined $count && $count == $posts) {
                    print STDERR "bench-client: server counted ", (defined $count ? $count : 'undef'),
                        " posts, sent $posts\n";
                    $heap->{bad} = 1;
                }
                $heap->{done} = 0;
                $heap->{t1}   = time;
                return $_[KERNEL]->yield('calls_done') unless $calls > 0;
                IKCPeer::Responder::call("poe://$srv/bench/echo", 0, 'poe:echoed');
            },
            # Sequential calls: one outstanding at a time.
            echoed => sub {
                my ($heap, $value) = @_[HEAP, ARG0];
                unless (defined $value && $value == $heap->{done}) {
                    print STDERR "bench-client: echo returned ", (defined $value ? $value : 'undef'),
                        ", want $heap->{done}\n";
                    $heap->{bad} = 1;
                }
                return $_[KERNEL]->yield('calls_done') if ++$heap->{done} >= $calls;
                IKCPeer::Responder::call("poe://$srv/bench/echo", $heap->{done}, 'poe:echoed');
            },
            calls_done => sub {
                my $heap = $_[HEAP];
                my $elapsed = time - $heap->{t1};
                printf "bench=ikc_call impl=perl-poe metric=calls_per_s value=%.0f\n",
                    $calls / $elapsed if $calls > 0;
                $finish->($heap->{bad} ? 1 : 0);
            },
        },
    );
    connect_channel(
        on_ready => sub { $chan = $_[0]; $poe_kernel->post(benchcli => 'start') },
        on_fail  => sub { $poe_kernel->post(benchcli => failed => $_[0]) },
        on_close => sub {
            $chan = undef;
            exit $code if $code == 0;
            $poe_kernel->post(benchcli => failed => 'connection closed');
        },
    );
    POE::Kernel->run;
    exit $code;
}
