package IKCPeer::Contract;
# The sessions a server-mode peer publishes: "echo", the test contract
# derived from the captured transcript (ikc-transcript.txt sections A and
# B), and "bench", for throughput measurements.  Handlers get the remote
# request's arguments as ARG0..; SENDER is the thunk standing for the
# remote sender.  A handler can tell a call (RSVP) from a post because the
# responder invokes it in scalar/list context for calls and in void
# context for posts.
use strict;
use warnings;
use POE;
use IKCPeer::Responder;

our @ECHO_PUBLISHED = qw(ping add store fetch range nothing delayed_add callback_test quit);
our @BENCH_PUBLISHED = qw(count total echo);

# Delay before delayed_add answers (the transcript shows 0.2 s).
use constant DELAYED_ADD_SECONDS => 0.2;

sub spawn_echo {
    my (%p) = @_;    # on_quit => sub { }
    POE::Session->create(
        inline_states => {
            _start => sub { $_[KERNEL]->alias_set('echo') },
            _stop  => sub { },
            ping          => \&_ping,
            add           => sub { _sum(@_[ARG0 .. $#_]) },
            store         => \&_store,
            fetch         => sub { $_[HEAP]{stored} },
            range         => \&_range,
            nothing       => sub { return },
            delayed_add   => \&_delayed_add,
            delayed_reply => sub { IKCPeer::Responder::post(@_[ARG0, ARG1]); return },
            callback_test => \&_callback_test,
            got_double    => \&_got_double,
            secret        => sub { 'secret' },    # exists, but is not published
            quit          => sub {
                $p{on_quit}->() if $p{on_quit};
                $_[KERNEL]->alias_remove('echo');
                $_[KERNEL]->alarm_remove_all;
                return defined wantarray ? 'bye' : ();
            },
        },
    );
    IKCPeer::Responder::publish(echo => \@ECHO_PUBLISHED);
}

# ping(X): a call is answered "pong".  A post is answered by posting
# "pong" with the same arguments back to the sender (SENDER), unless X is
# {reply_to => SPEC, token => T}: then {pong => T} is posted to SPEC.
sub _ping {
    my ($kernel, $sender, @args) = @_[KERNEL, SENDER, ARG0 .. $#_];
    my $arg = $args[0];
    if (ref $arg eq 'HASH' && defined $arg->{reply_to}) {
        IKCPeer::Responder::post($arg->{reply_to}, { pong => $arg->{token} });
    }
    elsif (!defined wantarray) {
        $kernel->post($sender, pong => @args);
    }
    return defined wantarray ? 'pong' : ();
}

# add([N...]) or add(N, ...): the sum.  Perl arithmetic, so 2+2 travels as
# the integer 4 and 1+2+"3.5"+40 as the string "46.5".
sub _sum {
    my @args = @_;
    @args = @{ $args[0] } if @args == 1 && ref $args[0] eq 'ARRAY';
    no warnings qw(numeric uninitialized);
    my $sum = 0;
    $sum += $_ for @args;
    return $sum;
}

# store(X) keeps X; store(X, Y, ...) keeps [X, Y, ...] (several arguments
# come from proxied posts or "?NAME").  Returns what it keeps; fetch
# returns it again.
sub _store {
    my ($heap, @args) = @_[HEAP, ARG0 .. $#_];
    $heap->{stored} = @args == 1 ? $args[0] : [@args];
    return $heap->{stored};
}

# range(N): the list 1..N; in scalar context (no wantarray) its length.
sub _range {
    my ($n) = $_[ARG0];
    no warnings qw(numeric uninitialized);
    my @list = (1 .. $n);
    return @list;
}

# delayed_add([[N...], REPLY_SPEC]): after 0.2 s, post the sum to
# REPLY_SPEC (ClientLite's post_respond sends exactly this shape).
sub _delayed_add {
    my ($kernel, $arg) = @_[KERNEL, ARG0];
    return unless ref $arg eq 'ARRAY';
    my ($numbers, $reply_to) = @$arg;
    $kernel->delay_add(delayed_reply => DELAYED_ADD_SECONDS, $reply_to, _sum($numbers));
    return;
}

# callback_test({call => SPEC, reply_to => SPEC, value => V}): call SPEC
# with V (RSVP to our own got_double, a one-shot allowance), then post the
# answer to reply_to.
sub _callback_test {
    my ($heap, $arg) = @_[HEAP, ARG0];
    return unless ref $arg eq 'HASH';
    push @{ $heap->{callbacks} }, $arg->{reply_to};
    IKCPeer::Responder::call($arg->{call}, $arg->{value}, 'poe:got_double');
    return;
}

sub _got_double {
    my ($heap, $value) = @_[HEAP, ARG0];
    my $reply_to = shift @{ $heap->{callbacks} || [] };
    IKCPeer::Responder::post($reply_to, $value) if defined $reply_to;
    return;
}

#---------------------------------------------------------------------
# bench: count (post; counts), total (call; returns the count and resets
# it), echo (call; returns its argument).

sub spawn_bench {
    POE::Session->create(
        inline_states => {
            _start => sub { $_[KERNEL]->alias_set('bench') },
            _stop  => sub { },
            count  => sub { $_[HEAP]{count}++; return },
            total  => sub {
                my $n = $_[HEAP]{count} || 0;
                $_[HEAP]{count} = 0;
                return $n;
            },
            echo => sub { $_[ARG0] },
            quit => sub { $_[KERNEL]->alias_remove('bench') },
        },
    );
    IKCPeer::Responder::publish(bench => \@BENCH_PUBLISHED);
}

1;
