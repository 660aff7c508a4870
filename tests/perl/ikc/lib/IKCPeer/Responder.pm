package IKCPeer::Responder;
# The per-process IKC "responder": what this kernel publishes, the
# one-shot RSVP allowances, the registry of connected remote kernels, the
# handling of every request that arrives on a channel (protocol section
# 5.4), and the outgoing post/call/subscribe API used by local sessions.
# It also runs the session aliased "IKC" that remote kernels reach as
# IKC/ping, IKC/do_you_have and IKC/remote_error.
#
# Written from ikc-protocol.md and the captured transcript; no code of
# POE::Component::IKC is used.
use strict;
use warnings;
use POE;
use Data::Dumper ();
use IKCPeer::Spec qw(spec_parse spec_name spec_key);

# One responder per process, as in Perl IKC, so plain package state.
my %published;     # session alias => { state => 1 }
my %allowance;     # spec_key(session, state) => outstanding one-shot count
my %by_name;       # remote kernel ID or alias => channel
my @registered;    # channels in registration order; the first is the default
my %quiet;         # session => 1: do not print GOT lines for it
my %subscription;  # receipt state => { spec, callback }
my @error_watchers;
my $receipt_seq = 0;
my $kernel_name;   # our `name` (used to fill empty rsvp kernels)
my $KERNEL_ID;     # $poe_kernel->ID, our canonical name
my $log = sub { print @_, "\n" };

sub kernel_id { $KERNEL_ID }
sub name { $kernel_name }

# Start the responder: remembers our names and creates the IKC session.
sub spawn {
    my (%p) = @_;
    $KERNEL_ID   = $poe_kernel->ID;
    $kernel_name = defined $p{name} ? $p{name} : $KERNEL_ID;
    $log         = $p{log} if $p{log};
    %quiet       = map { $_ => 1 } @{ $p{quiet} || [] };
    POE::Session->create(
        inline_states => {
            _start      => sub { $_[KERNEL]->alias_set('IKC') },
            _stop       => sub { },
            ping        => sub { 'PONG' },
            do_you_have => \&_do_you_have,
            remote_error => \&_remote_error,
            shutdown    => sub { $_[KERNEL]->alias_remove('IKC') },
            # Subscription receipts arrive as calls to opaque state names.
            _default    => \&_receipt,
        },
    );
    # The three IKC states every Perl kernel publishes automatically.
    publish(IKC => [qw(remote_error do_you_have ping)]);
}

sub publish {
    my ($session, $states) = @_;
    $published{$session}{$_} = 1 for @$states;
}

sub on_remote_error { push @error_watchers, $_[0] }

sub shutdown {
    $poe_kernel->call(IKC => 'shutdown');
    $_->shutdown for @registered;
}

#---------------------------------------------------------------------
# Registry of connected kernels

# A channel finished negotiating: route its ID and aliases to it.  A name
# already taken by another channel is given to the newer one (Perl keeps
# the first; for a test peer, a client that reconnects before its old
# connection is noticed as closed must still get its replies).
sub register {
    my ($chan, $remote_id, $aliases) = @_;
    push @registered, $chan;
    for my $name ($remote_id, @$aliases) {
        next unless defined $name && length $name;
        $by_name{$name} = $chan;
    }
}

sub unregister {
    my ($chan) = @_;
    @registered = grep { $_ != $chan } @registered;
    for my $name (keys %by_name) {
        delete $by_name{$name} if $by_name{$name} == $chan;
    }
}

sub connected { scalar @registered }

# The channels a specifier's kernel part designates.
sub _channels_for {
    my ($kernel) = @_;
    $kernel = '' unless defined $kernel;
    return @registered if $kernel eq '*';
    return @registered ? ($registered[0]) : () if $kernel eq '';
    return $by_name{$kernel} ? ($by_name{$kernel}) : ();
}

#---------------------------------------------------------------------
# Incoming requests (protocol section 5.4)

sub request {
    my ($chan, $msg) = @_;

    # 1. Destination.  An unparsable string counts as all-empty, which the
    #    publication check below then refuses.
    my $to = spec_parse($msg->{event})
        || { kernel => '', session => '', state => '' };
    my ($session, $state) = ($to->{session}, $to->{state});

    # 2. Arguments.  IKC:proxy carries [REAL_STATE, [ARGS]].
    my @args;
    if ($state eq 'IKC:proxy') {
        my $ok = eval {
            my ($real, $list) = @{ $msg->{params} };
            @args  = @$list;
            $state = $to->{state} = defined $real ? $real : '';
            1;
        };
        return _refuse($chan, $msg, $to, request => $@) unless $ok;
    }
    else {
        @args = ($msg->{params});
    }

    # 3. Permission: a pending one-shot RSVP allowance, else publication.
    my $key = spec_key($session, $state);
    if ($allowance{$key}) {
        delete $allowance{$key} unless --$allowance{$key};
    }
    elsif (!$published{$session} || !%{ $published{$session} }) {
        return _refuse($chan, $msg, $to,
            check => "Session '$session' is not available for remote kernels");
    }
    elsif (!$published{$session}{$state}) {
        return _refuse($chan, $msg, $to,
            check => "Session '$session' has not published state '$state'");
    }

    # 4. "?NAME" becomes one more argument.
    push @args, @{ $to->{args} } if $to->{args};

    # 5. The local session, by alias or numeric ID (RSVP replies).
    my $target = $poe_kernel->alias_resolve($session);
    return _refuse($chan, $msg, $to, resolve => "Unknown session '$session'")
        unless $target;

    $log->("GOT $session/$state " . dump_args(\@args)) unless $quiet{$session};

    # 6. Invoke through the thunk that stands for the sender, in the
    #    context the caller asked for, and answer a call.
    my $want = !$msg->{rsvp} ? 'void' : $msg->{wantarray} ? 'list' : 'scalar';
    my $thunk = IKCPeer::Thunk::for_sender($chan, $msg->{from});
    my $result = $poe_kernel->call($thunk, invoke => $target, $state, \@args, $want);
    return _refuse($chan, $msg, $to,
        invocation => "Unable to invoke state '$state' of session '$session'")
        unless ref $result eq 'ARRAY';
    return if $want eq 'void';

    # Undef (scalar) or an empty list (list context) is never answered.
    my $params;
    if ($want eq 'list') {
        return unless @$result;
        $params = $result;
    }
    else {
        return unless defined $result->[0];
        $params = $result->[0];
    }
    my %reply = (event => $msg->{rsvp}, params => $params);
    my $from = from_for($target);
    $reply{from} = $from if $from;
    $chan->send(\%reply);
}

# Report a failed request to our log and, unless it was itself an error
# report, to the sender's IKC/remote_error (section 5.7).
sub _refuse {
    my ($chan, $msg, $to, $when, $reason) = @_;
    $reason =~ s/\.?\s*\z//;    # Perl's die texts end in "line N.\n"
    my $text = "$reason.  Request " . spec_name($to);
    $text .= ' sent by ' . spec_name($msg->{from}) if ref $msg->{from} eq 'HASH';
    $log->("REFUSED $when $text");
    return if $msg->{is_error};
    $chan->send({
        event    => { kernel => $chan->remote_id, session => 'IKC', state => 'remote_error' },
        params   => [ $text, $to->{kernel}, $when ],
        is_error => 1,
    });
}

# One line, ASCII only: tests grep these.
sub dump_args {
    my ($args) = @_;
    local $Data::Dumper::Indent   = 0;
    local $Data::Dumper::Terse    = 1;
    local $Data::Dumper::Sortkeys = 1;
    local $Data::Dumper::Useqq    = 1;    # escapes CR/LF and wide characters
    return Data::Dumper::Dumper($args);
}

#---------------------------------------------------------------------
# The IKC session's handlers

# IKC/do_you_have: ARG0 = [SPEC, SUBSCRIBER_ID] (section 5.6).
sub _do_you_have {
    my ($param) = $_[ARG0];
    my ($spec) = ref $param eq 'ARRAY' ? @$param : ($param);
    my $h = spec_parse($spec) || { kernel => '', session => '', state => '' };
    delete $h->{args};
    my $pub = $published{ $h->{session} };
    unless ($pub && %$pub && (!length $h->{state} || $pub->{ $h->{state} })) {
        return 'Refused subscription ' . spec_name($h);
    }
    $h->{kernel} = $KERNEL_ID unless length $h->{kernel};
    return [ $h, $KERNEL_ID ];
}

# IKC/remote_error: ARG0 = [MESSAGE, KERNEL, WHEN].
sub _remote_error {
    my ($err) = $_[ARG0];
    my @e = ref $err eq 'ARRAY' ? @$err : ($err);
    if (@error_watchers) {
        $_->(@e) for @error_watchers;
    }
    else {
        no warnings 'uninitialized';
        warn "IKC remote error ($e[2]) from $e[1]: $e[0]\n";
    }
    return;
}

# A subscription receipt: ARG0 is the state name, ARG1 the arguments.
sub _receipt {
    my ($state, $args) = @_[ARG0, ARG1];
    my $sub = delete $subscription{$state} or return;
    my $answer = $args->[0];
    if (ref $answer eq 'ARRAY' && ref $answer->[0] eq 'HASH') {
        my $spec = $sub->{spec};
        IKCPeer::Proxy::spawn($spec->{kernel}, $spec->{session});
        $sub->{callback}->(1, $answer);
    }
    else {
        $sub->{callback}->(0, $answer);
    }
    return;
}

#---------------------------------------------------------------------
# Outgoing messages

# The "from" a message sent by SESSION carries: its first alias that has
# published something, else none (then nobody can answer via SENDER).
sub from_for {
    my ($session) = @_;
    for my $alias ($poe_kernel->alias_list($session)) {
        return { kernel => $KERNEL_ID, session => $alias, state => 'IKC:proxy' }
            if $published{$alias} && %{ $published{$alias} };
    }
    return undef;
}

# Send MSG (a request hash; event as string or hash) from SENDER to the
# kernel(s) its event names.  An rsvp records a one-shot allowance.
sub raw_message {
    my ($msg, $sender) = @_;
    my $event = $msg->{event};
    $event = $msg->{event} = "poe://$event" if !ref $event && $event !~ /\Apoe:/;
    my $to = spec_parse($event);
    unless ($to) {
        warn "IKC: cannot parse destination '$event'\n";
        return 0;
    }
    my @chans = _channels_for($to->{kernel});
    unless (@chans) {
        warn "IKC: unknown kernel '$to->{kernel}' for " . spec_name($to) . "\n";
        return 0;
    }
    if (!exists $msg->{from}) {
        my $from = from_for($sender);
        $msg->{from} = $from if $from;
    }
    if (my $rsvp = $msg->{rsvp}) {
        $rsvp->{kernel} = $kernel_name unless defined $rsvp->{kernel} && length $rsvp->{kernel};
        $allowance{ spec_key($rsvp->{session}, $rsvp->{state}) } += @chans;
    }
    $_->send($msg) for @chans;
    return scalar @chans;
}

# post(SPEC, PARAMS): fire and forget, from the active session.
sub post {
    my ($spec, $params) = @_;
    return raw_message({ event => $spec, params => $params },
                       $poe_kernel->get_active_session);
}

# call(SPEC, PARAMS, RSVP [, wantarray => 1]): the answer is posted to
# RSVP, which is "poe:STATE" (this session), "poe:/SESSION/STATE" or a
# hash.
sub call {
    my ($spec, $params, $rsvp, %opt) = @_;
    my $sender = $poe_kernel->get_active_session;
    my $r = spec_parse($rsvp) or die "bad rsvp '$rsvp'";
    delete $r->{args};
    $r->{session} = $sender->ID unless length $r->{session};
    my %msg = (event => $spec, params => $params, rsvp => $r);
    $msg{wantarray} = 1 if $opt{wantarray};
    return raw_message(\%msg, $sender);
}

# subscribe("poe://KERNEL/SESSION", CALLBACK): ask the kernel with a call
# to IKC/do_you_have; CALLBACK(ok, answer) runs on the receipt, and an
# accepted subscription gets a proxy session aliased "poe://KERNEL/SESSION".
sub subscribe {
    my ($spec, $callback) = @_;
    my $h = spec_parse($spec) or die "bad subscription '$spec'";
    delete $h->{args};
    my $state = 'IKC:receipt ' . ++$receipt_seq . ' ' . spec_name($h);
    $subscription{$state} = { spec => $h, callback => $callback };
    return raw_message({
        event  => { kernel => $h->{kernel}, session => 'IKC', state => 'do_you_have' },
        params => [ { kernel => $h->{kernel}, session => $h->{session}, state => '' }, $KERNEL_ID ],
        from   => { kernel => $KERNEL_ID, session => 'IKC' },
        rsvp   => { kernel => $KERNEL_ID, session => 'IKC', state => $state },
    }, undef);
}

#=====================================================================
package IKCPeer::Thunk;
# The session a remote request's handler sees as SENDER.  Events posted
# to it go back to the request's "from" (section 5.5).  One thunk per
# channel and "from", kept alive until the channel closes, so a handler
# may also answer later.
use strict;
use warnings;
use POE;
use Scalar::Util qw(weaken);

sub for_sender {
    my ($chan, $from) = @_;
    my $key = ref $from eq 'HASH'
        ? join("\0", map { defined $from->{$_} ? $from->{$_} : "\x01" } qw(kernel session state))
        : '';
    return $chan->{thunks}{$key} ||= _spawn($chan, ref $from eq 'HASH' ? {%$from} : undef);
}

sub _spawn {
    my ($chan, $from) = @_;
    weaken(my $weak = $chan);
    my $session = POE::Session->create(
        inline_states => {
            _start  => sub { $_[KERNEL]->refcount_increment($_[SESSION]->ID, 'ikc-thunk') },
            _stop   => sub { },
            _child  => sub { },
            _parent => sub { },
            release => sub { $_[KERNEL]->refcount_decrement($_[SESSION]->ID, 'ikc-thunk') },
            invoke  => \&_invoke,
            _default => sub { _respond($weak, $from, $_[SENDER], $_[ARG0], $_[ARG1]) },
        },
    );
    return $session->ID;
}

# Run the handler synchronously, so that this session is its SENDER.
sub _invoke {
    my ($kernel, $target, $state, $args, $want) = @_[KERNEL, ARG0 .. ARG3];
    if ($want eq 'list') {
        my @r = $kernel->call($target, $state, @$args);
        return \@r;
    }
    if ($want eq 'scalar') {
        my $r = $kernel->call($target, $state, @$args);
        return [$r];
    }
    $kernel->call($target, $state, @$args);
    return [];
}

# The handler posted EVENT(@args) to us: send it to the remote sender.
sub _respond {
    my ($chan, $from, $poster, $event, $args) = @_;
    return if $event =~ /\A_/;    # POE's own events
    unless ($from) {
        warn "IKC: attempt to respond to an anonymous foreign post ($event)\n";
        return;
    }
    return unless $chan;
    my %msg;
    if (defined $from->{state} && length $from->{state}) {
        %msg = (event => $from, params => [ $event, [@$args] ]);
    }
    else {
        %msg = (event => { %$from, state => $event }, params => [@$args]);
    }
    my $me = IKCPeer::Responder::from_for($poster);
    $msg{from} = $me if $me;
    $chan->send(\%msg);
    return;
}

#=====================================================================
package IKCPeer::Proxy;
# Local stand-in for a subscribed remote session: EVENT(@args) posted to
# it becomes a proxied post {event => {K, S, 'IKC:proxy'},
# params => [EVENT, [@args]]} carrying the poster's "from".
use strict;
use warnings;
use POE;

sub spawn {
    my ($kernel, $session) = @_;
    my $alias = "poe://$kernel/$session";
    return if $poe_kernel->alias_resolve($alias);
    POE::Session->create(
        inline_states => {
            _start => sub {
                $_[KERNEL]->alias_set($alias);
                $_[KERNEL]->alias_set($session) unless $_[KERNEL]->alias_resolve($session);
            },
            _stop    => sub { },
            shutdown => sub { $_[KERNEL]->alias_remove($_) for $_[KERNEL]->alias_list },
            _default => sub {
                my ($event, $args) = @_[ARG0, ARG1];
                return if $event =~ /\A_/;
                IKCPeer::Responder::raw_message({
                    event  => { kernel => $kernel, session => $session, state => 'IKC:proxy' },
                    params => [ $event, [@$args] ],
                }, $_[SENDER]);
                return;
            },
        },
    );
}

1;
