package IKCPeer::Scenario;
# Client mode: the fixed scenario a peer runs against an IKC server that
# serves the "echo" contract (IKCPeer::Contract).  Our own published
# session is "tester".  Each step prints "OK <step>" or
# "FAIL <step>: <why>"; the end prints "DONE <failures>".
#
# A step has: start (runs inside the tester session, so its posts carry
# from => tester), expect => { EVENT => CHECK } where CHECK returns undef
# when the arguments are right and a reason otherwise, and a timeout.  A
# "silent" step passes when none of its events arrives before the timeout.
use strict;
use warnings;
use utf8;
use POE;
use IKCPeer::Responder;

our @TESTER_PUBLISHED = qw(pong pong2 double doubled delayed_sum);
use constant STEP_TIMEOUT    => 5;
use constant NOTHING_TIMEOUT => 1;

# spawn(server => NAME, name => OUR_NAME, timeout => SECONDS, quit => BOOL,
#       on_done => sub { FAILURES })
sub spawn {
    my ($class, %p) = @_;
    my $self = bless { %p, failures => 0, index => -1 }, $class;
    $self->{steps} = [ $self->_steps ];
    POE::Session->create(
        object_states => [
            $self => {
                _start         => '_start',
                _stop          => '_ignore',
                _child         => '_ignore',
                connected      => '_connected',
                connect_failed => '_connect_failed',
                connection_lost => '_connection_lost',
                next_step      => '_next_step',
                step_timeout   => '_step_timeout',
                global_timeout => '_global_timeout',
                double         => '_double',
                run            => '_run',
                _default       => '_event',
            },
        ],
    );
    IKCPeer::Responder::publish(tester => \@TESTER_PUBLISHED);
    IKCPeer::Responder::on_remote_error(sub {
        $poe_kernel->post(tester => remote_error => [@_]);
    });
    return $self;
}

sub _ignore { }

sub _start {
    my ($self, $kernel) = @_[OBJECT, KERNEL];
    $kernel->alias_set('tester');
    $kernel->delay(global_timeout => $self->{timeout});
}

#---------------------------------------------------------------------
# The steps

sub _store_data {
    return {
        list        => [ 1, 'two', '3.5', [ 4, [5] ] ],
        hash        => { a => 1, b => { c => 'd' } },
        '日本'      => 'utf8 key',
        'kéy'       => 'latin-1 range key',
        utf8        => "café 日本語 \x{1F600}",
        undef_value => undef,
        undefs      => [ undef, 1, undef ],
        scalar_ref  => \'referenced',
        empty_list  => [],
        empty_hash  => {},
        ints        => [ 0, -1, 127, 128, -129, 65535, 2147483647, -2147483648 ],
        big         => '2147483648',
        multiline   => "line\r\nbreak",
    };
}

sub _steps {
    my ($self) = @_;
    my ($srv, $me) = ($self->{server}, $self->{name});
    my $echo = "poe://$srv/echo";
    my $post = \&IKCPeer::Responder::post;
    my $call = \&IKCPeer::Responder::call;
    my $data = _store_data();
    my $is = sub { my ($want) = @_; sub { _deep_diff($_[0], $want) } };

    return (
        { name => 'ping_sender',
          start => sub { $post->("$echo/ping", 'hello-sender') },
          expect => { pong => sub { _deep_diff([@_], ['hello-sender']) } } },
        { name => 'ping_reply_to',
          start => sub { $post->("$echo/ping", { reply_to => "poe://$me/tester/pong2", token => 'tok1' }) },
          expect => { pong2 => $is->({ pong => 'tok1' }) } },
        { name => 'call_ping',
          start => sub { $call->("$echo/ping", 'x', 'poe:ping_result') },
          expect => { ping_result => $is->('pong') } },
        { name => 'call_add',
          start => sub { $call->("$echo/add", [ 1, 2, '3.5', 40 ], 'poe:sum') },
          expect => { sum => \&_is_46_5 } },
        { name => 'store',
          start => sub { $call->("$echo/store", $data, 'poe:store_result') },
          expect => { store_result => $is->($data) } },
        { name => 'fetch',
          start => sub { $call->("$echo/fetch", undef, 'poe:fetch_result') },
          expect => { fetch_result => $is->($data) } },
        { name => 'range_list',
          start => sub { $call->("$echo/range", 3, 'poe:/tester/range_list', wantarray => 1) },
          expect => { range_list => $is->([ 1, 2, 3 ]) } },
        { name => 'range_scalar',
          start => sub { $call->("$echo/range", 3, 'poe:range_scalar') },
          expect => { range_scalar => $is->(3) } },
        { name => 'ikc_ping',
          start => sub { $call->("poe://$srv/IKC/ping", 'x', 'poe:ikc_pong') },
          expect => { ikc_pong => $is->('PONG') } },
        { name => 'error_unpublished',
          start => sub { $post->("$echo/secret", 'x') },
          expect => { remote_error => _error_check(
              qr/\ASession 'echo' has not published state 'secret'\.  Request /) } },
        { name => 'error_no_session',
          start => sub { $post->("poe://$srv/nosuch/x", 'x') },
          expect => { remote_error => _error_check(
              qr/\ASession 'nosuch' is not available for remote kernels\.  Request /) } },
        { name => 'nothing', silent => 1, timeout => NOTHING_TIMEOUT,
          start => sub { $call->("$echo/nothing", 'x', 'poe:nothing_result') },
          expect => { nothing_result => sub { 'a reply came' } } },
        { name => 'delayed_add',
          start => sub {
              $post->("$echo/delayed_add",
                  [ [ 5, 6, 7 ], { kernel => $me, session => 'tester', state => 'delayed_sum' } ]);
          },
          expect => { delayed_sum => $is->(18) } },
        { name => 'callback_test',
          start => sub {
              $post->("$echo/callback_test", {
                  call => "poe://$me/tester/double", reply_to => "poe://$me/tester/doubled", value => 21 });
          },
          expect => { double => $is->(21), doubled => $is->(42) } },
        { name => 'query_arg',
          start => sub { $call->("$echo/store?extra", 'first', 'poe:query_result') },
          expect => { query_result => $is->([ 'first', 'extra' ]) } },
        { name => 'subscribe',
          start => sub {
              IKCPeer::Responder::subscribe($echo, sub { $poe_kernel->post(tester => subscribed => @_) });
          },
          expect => { subscribed => sub {
              my ($ok, $answer) = @_;
              return "refused: " . _show($answer) unless $ok;
              return "no proxy session '$echo'" unless $poe_kernel->alias_resolve($echo);
              return undef;
          } } },
        { name => 'proxy_post',
          start => sub { $poe_kernel->post($echo, ping => 'hello-proxy') },
          expect => { pong => sub { _deep_diff([@_], ['hello-proxy']) } } },
        { name => 'proxy_store',
          start => sub {
              $poe_kernel->post($echo, store => 'a', [ 1, 2 ], { k => 'v' });
              # The proxy sends when it gets our post; queue the fetch
              # behind it so that the server sees the store first.
              $poe_kernel->post(tester => run => sub {
                  $call->("$echo/fetch", undef, 'poe:proxy_fetch');
              });
          },
          expect => { proxy_fetch => $is->([ 'a', [ 1, 2 ], { k => 'v' } ]) } },
    );
}

sub _is_46_5 {
    my ($v) = @_;
    return 'undef' unless defined $v;
    no warnings 'numeric';
    return $v == 46.5 ? undef : 'got ' . _show($v);
}

# remote_error reports: [MESSAGE, KERNEL, WHEN]
sub _error_check {
    my ($re) = @_;
    return sub {
        my ($e) = @_;
        return 'report is not [message, kernel, when]: ' . _show($e) unless ref $e eq 'ARRAY';
        my ($message, undef, $when) = @$e;
        return 'message ' . _show($message) unless defined $message && $message =~ $re;
        return 'when ' . _show($when) . " (want 'check')" unless defined $when && $when eq 'check';
        return undef;
    };
}

#---------------------------------------------------------------------
# The runner

sub _connected {
    my ($self, $kernel, $chan) = @_[OBJECT, KERNEL, ARG0];
    my @names = $chan->remote_names;
    if (grep { $_ eq $self->{server} } @names) {
        $self->_ok('negotiate');
    }
    else {
        $self->_fail('negotiate', "server names (@names) do not include '$self->{server}'");
    }
    $kernel->yield('next_step');
}

sub _connect_failed {
    my ($self, $why) = @_[OBJECT, ARG0];
    $self->_fail('negotiate', $why);
    $self->_finish;
}

sub _connection_lost {
    my ($self, $why) = @_[OBJECT, ARG0];
    return if $self->{done};
    my $step = $self->_current;
    $self->_fail($step ? $step->{name} : 'negotiate', $why);
    $self->_finish;
}

sub _next_step {
    my ($self, $kernel) = @_[OBJECT, KERNEL];
    my $step = $self->{steps}[ ++$self->{index} ];
    return $self->_finish unless $step;
    $self->{pending} = { map { $_ => 1 } keys %{ $step->{expect} } };
    $kernel->delay(step_timeout => $step->{timeout} || STEP_TIMEOUT);
    $step->{start}->();
}

# Run a code ref inside the tester session (after what is queued before it).
sub _run { $_[ARG0]->() }

sub _current { $_[0]{steps}[ $_[0]{index} ] }

# Everything that arrives at tester (replies, pong, ...) and the
# remote_error / subscribed notifications end up here.
sub _event {
    my ($self, $kernel, $event, $args) = @_[OBJECT, KERNEL, ARG0, ARG1];
    return if $event =~ /\A_/;
    $self->_arrived($event, @$args);
    return;
}

# tester/double is called by the server: answer 2x, and note the call.
sub _double {
    my ($self, $value) = @_[OBJECT, ARG0];
    $self->_arrived(double => $value);
    no warnings 'numeric';
    return 2 * ($value || 0);
}

sub _arrived {
    my ($self, $event, @args) = @_;
    my $step = $self->_current;
    return if $self->{done};
    if (!$step || !$self->{pending} || !$self->{pending}{$event}) {
        # Something the contract does not send (or sends twice): reported
        # as a failure at the end, since it cannot be pinned on a step.
        my $when = $step ? "during $step->{name}" : 'before the first step';
        push @{ $self->{unexpected} }, "$event " . _show([@args]) . " $when";
        print STDERR "# unexpected $event " . _show([@args]) . " $when\n";
        return;
    }
    my $why = $step->{expect}{$event}->(@args);
    $why = "$event arrived" if $step->{silent} && !defined $why;
    if (defined $why) {
        return $self->_step_done("$event: $why");
    }
    delete $self->{pending}{$event};
    $self->_step_done unless %{ $self->{pending} };
}

sub _step_timeout {
    my ($self) = $_[OBJECT];
    my $step = $self->_current or return;
    return $self->_step_done if $step->{silent};
    $self->_step_done('timed out waiting for ' . join(', ', sort keys %{ $self->{pending} }));
}

sub _step_done {
    my ($self, $why) = @_;
    my $step = $self->_current;
    $self->{pending} = undef;
    $poe_kernel->delay('step_timeout');
    defined $why ? $self->_fail($step->{name}, $why) : $self->_ok($step->{name});
    $poe_kernel->post(tester => 'next_step');
}

sub _global_timeout {
    my ($self) = $_[OBJECT];
    my $step = $self->_current;
    $self->_fail($step ? $step->{name} : 'negotiate', "global timeout ($self->{timeout} s)");
    $self->_finish;
}

sub _ok   { print "OK $_[1]\n" }
sub _fail { $_[0]{failures}++; print "FAIL $_[1]: $_[2]\n" }

sub _finish {
    my ($self) = @_;
    return if $self->{done}++;
    # Steps never reached count as failures too.
    for my $i ($self->{index} + 1 .. $#{ $self->{steps} }) {
        $self->_fail($self->{steps}[$i]{name}, 'not run');
    }
    $self->_fail('unexpected_events', join '; ', @{ $self->{unexpected} })
        if $self->{unexpected};
    if ($self->{quit} && IKCPeer::Responder::connected()) {
        IKCPeer::Responder::post("poe://$self->{server}/echo/quit", undef);
    }
    print "DONE $self->{failures}\n";
    $poe_kernel->delay('step_timeout');
    $poe_kernel->delay('global_timeout');
    $poe_kernel->alias_remove('tester');
    $self->{on_done}->($self->{failures}) if $self->{on_done};
}

#---------------------------------------------------------------------
# Helpers

sub _show {
    return IKCPeer::Responder::dump_args($_[0]);
}

# First difference between two Perl values, or undef.  Scalars compare as
# strings, or as numbers when both look numeric (the two sides may pick
# different wire forms for the same number).
sub _deep_diff {
    my ($got, $want, $path) = @_;
    $path = '' unless defined $path;
    my $where = length $path ? " at $path" : '';
    return undef if !defined $got && !defined $want;
    return 'got ' . _show($got) . ", want " . _show($want) . $where
        if !defined $got || !defined $want;
    my ($rg, $rw) = (ref $got, ref $want);
    return "got a " . ($rg || 'plain scalar') . ", want a " . ($rw || 'plain scalar') . $where
        if $rg ne $rw;
    if ($rw eq 'ARRAY') {
        return "array length " . @$got . ", want " . @$want . $where if @$got != @$want;
        for my $i (0 .. $#$want) {
            my $d = _deep_diff($got->[$i], $want->[$i], "$path\[$i]");
            return $d if defined $d;
        }
        return undef;
    }
    if ($rw eq 'HASH') {
        my $gk = join "\0", sort keys %$got;
        my $wk = join "\0", sort keys %$want;
        return 'keys ' . _show([ sort keys %$got ]) . ', want ' . _show([ sort keys %$want ]) . $where
            if $gk ne $wk;
        for my $k (sort keys %$want) {
            my $d = _deep_diff($got->{$k}, $want->{$k}, "$path\{$k}");
            return $d if defined $d;
        }
        return undef;
    }
    if ($rw eq 'SCALAR' || $rw eq 'REF') {
        return _deep_diff($$got, $$want, "\${$path}");
    }
    return "unsupported reference type $rw$where" if $rw;
    return undef if $got eq $want;
    {
        no warnings 'numeric';
        my $num = qr/\A-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\z/;
        return undef if $got =~ $num && $want =~ $num && $got == $want;
    }
    return 'got ' . _show($got) . ', want ' . _show($want) . $where;
}

1;
