#!/usr/bin/perl
# Edge cases of the IKC protocol that the transcript does not show,
# checked byte-level against a running IKC0 server (peer.pl server, or any
# server with the echo contract).  Expected behaviour is Perl IKC 0.2402's
# as ikc-protocol.md describes it (sections 2.2, 3.2, 5.4-5.7).
#
#   perl probe.pl --port N [--server-name perlsrv]
#
# Prints "ok N - what" / "not ok N - what: why"; exits non-zero on failure.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Getopt::Long qw(GetOptions);
use IKCPeer::Raw;

$| = 1;
my %opt = ('server-name' => 'perlsrv');
GetOptions(\%opt, 'port=i', 'server-name=s') or die "bad options\n";
die "usage: probe.pl --port N [--server-name NAME]\n" unless $opt{port};
my $SRV = $opt{'server-name'};
my ($n, $failed) = (0, 0);
my $seq = 0;

sub check {
    my ($what, $why) = @_;    # $why undef = passed
    $n++;
    if (defined $why) { $failed++; print "not ok $n - $what: $why\n" }
    else              { print "ok $n - $what\n" }
}

sub conn { IKCPeer::Raw->new($opt{port}) }

# A negotiated ClientLite-style connection with a fresh name.
sub lite {
    my $c = conn();
    $c->{name} = 'probe' . ++$seq;
    $c->negotiate($c->{name});
    return $c;
}

sub from_of { { kernel => $_[0]{name}, session => 'IKCLite' } }

sub call {
    my ($c, $event, $params, %extra) = @_;
    my $state = 'r' . ++$seq;
    $c->send_msg({
        event  => $event, params => $params, from => from_of($c),
        rsvp   => { kernel => $c->{name}, session => 'IKCLite', state => $state },
        %extra,
    });
    return $state;
}

# The error report for the last request, checked: [MESSAGE, KERNEL, WHEN].
sub expect_error {
    my ($c, $what, $re, $when) = @_;
    my $m = $c->msg;
    return check($what, 'no frame') unless $m;
    return check($what, 'not an is_error report') unless $m->{is_error};
    my $ev = $m->{event};
    return check($what, 'not sent to IKC/remote_error')
        unless ref $ev eq 'HASH' && $ev->{session} eq 'IKC' && $ev->{state} eq 'remote_error'
        && $ev->{kernel} eq $c->{name};
    my ($text, undef, $got_when) = @{ $m->{params} };
    return check($what, "message '$text'") unless $text =~ $re;
    return check($what, "when '$got_when', want '$when'") unless $got_when eq $when;
    check($what);
}

sub expect_reply {
    my ($c, $what, $state, $want) = @_;
    my $m = $c->msg;
    return check($what, 'no frame') unless $m;
    return check($what, 'reply to the wrong state')
        unless ref $m->{event} eq 'HASH' && $m->{event}{state} eq $state;
    my $got = IKCPeer::Responder::dump_args($m->{params});
    my $exp = IKCPeer::Responder::dump_args($want);
    check($what, $got eq $exp ? undef : "got $got, want $exp");
}

sub expect_silence {
    my ($c, $what, $seconds) = @_;
    my @u = $c->drain($seconds || 0.5);
    check($what, @u ? scalar(@u) . ' unit(s) arrived' : undef);
}

require IKCPeer::Responder;    # for dump_args only

#---------------------------------------------------------------------
# Negotiation (section 3.2)

{
    my $c = conn();
    $c->send_bytes("junk\x0D\x0A\x0D\x0ANOT\x0D\x0AHELLOX\x0D\x0A");
    expect_silence($c, 'IKC0 server ignores junk, empty lines and NOT');
    $c->send_line('SETUP ;KERNEL=x');
    check('leading ";" makes a SETUP bad: NOT', ($c->line // 'nothing') eq 'NOT' ? undef : 'no NOT');
    $c->send_line('SETUP PID=1');
    check('SETUP without KERNEL: NOT', ($c->line // '') eq 'NOT' ? undef : 'no NOT');
    $c->send_line('SETUP KERNEL=x;FREEZER=POE::Component::IKC::Freezer;PID=1');
    check('SETUP offering only the Dumper freezer: NOT', ($c->line // '') eq 'NOT' ? undef : 'no NOT');
    $c->send_line('HELLO IKC2');
    check('HELLO IKC<digit>: NOT', ($c->line // '') eq 'NOT' ? undef : 'no NOT');
    $c->send_line('SETUP KERNEL=probe-x,alias1;FREEZER=Other,Storable;PID=1');
    my $l = $c->line // '';
    check('after NOTs a good SETUP still works; Storable is picked from a list',
        $l =~ /\ASETUP KERNEL=[^;]+,\Q$SRV\E,127\.0\.0\.1:\d+;FREEZER=Storable;PID=\d+\z/ ? undef : "got '$l'");
    $c->close;
}

for my $eol (["\x0A", 'LF'], ["\x0D", 'CR'], ["\x0A\x0D", 'LFCR']) {
    my $c = conn();
    $c->send_bytes("SETUP KERNEL=probe-eol;FREEZER=Storable;PID=1$eol->[0]");
    my $l = $c->line // '';
    check("SETUP line ended by $eol->[1] is accepted", $l =~ /\ASETUP / ? undef : "got '$l'");
    $c->close;
}

{
    # SETUP and the first frame in one write: the frame is not lost.
    my $c = conn();
    $c->{name} = 'probe-pipe';
    $c->send_bytes("SETUP KERNEL=probe-pipe;FREEZER=Storable;PID=1\x0D\x0A"
        . IKCPeer::Raw::frame_bytes({
            event => "poe://$SRV/IKC/ping", params => 'x', from => from_of($c),
            rsvp  => { kernel => 'probe-pipe', session => 'IKCLite', state => 'piped' } }));
    my $l = $c->line // '';
    check('pipelined SETUP + frame: SETUP answered', $l =~ /\ASETUP / ? undef : "got '$l'");
    expect_reply($c, 'pipelined SETUP + frame: IKC/ping answered PONG', 'piped', 'PONG');
    $c->close;
}

{
    # Frames split byte by byte.
    my $c = lite();
    my $bytes = IKCPeer::Raw::frame_bytes({
        event => "poe://$SRV/echo/add", params => [ 2, 3 ], from => from_of($c),
        rsvp  => { kernel => $c->{name}, session => 'IKCLite', state => 'split' } });
    $c->send_bytes($_) for split //, $bytes;
    expect_reply($c, 'a frame written byte by byte is read', 'split', 5);
    $c->close;
}

#---------------------------------------------------------------------
# Requests (sections 5.4-5.7)

{
    my $c = lite();

    $c->send_msg({ event => { kernel => $SRV, session => 'echo', state => 'IKC:proxy' },
                   params => 'x', from => from_of($c) });
    expect_error($c, 'IKC:proxy with non-array params: request error',
        qr/\ACan't use string \("x"\) as an ARRAY ref.*\.  Request poe:\/\/\Q$SRV\E\/echo\/IKC:proxy sent by poe:\/\/probe\d+\/IKCLite\z/s,
        'request');

    $c->send_msg({ event => 'poe://bad name!/x/y', params => 1, from => from_of($c) });
    expect_error($c, 'unparsable event string: empty specifier, check error',
        qr/\ASession '' is not available for remote kernels\.  Request poe: sent by /, 'check');

    $c->send_msg({ event => "poe://$SRV/IKC/shutdown", params => 1, from => from_of($c) });
    expect_error($c, 'IKC/shutdown is not reachable remotely',
        qr/\ASession 'IKC' has not published state 'shutdown'\./, 'check');

    $c->send_msg({ event => "poe://$SRV/echo/secret", params => 1 });
    expect_error($c, 'error without from: no "sent by"',
        qr/\ASession 'echo' has not published state 'secret'\.  Request poe:\/\/\Q$SRV\E\/echo\/secret\z/, 'check');

    $c->send_msg({ event => "poe://$SRV/echo/secret", params => 1, is_error => 1 });
    expect_silence($c, 'a failing is_error request is not answered with an error');

    my $s = call($c, "poe://$SRV/echo/range", 4, wantarray => '1');
    expect_reply($c, 'wantarray "1" (string): list reply', $s, [ 1, 2, 3, 4 ]);
    $s = call($c, "poe://$SRV/echo/range", 4, wantarray => 1);
    expect_reply($c, 'wantarray 1 (integer): list reply', $s, [ 1, 2, 3, 4 ]);
    $s = call($c, "poe://$SRV/echo/range", 4, wantarray => '');
    expect_reply($c, 'wantarray "": scalar reply', $s, 4);
    $s = call($c, "poe://$SRV/echo/range", 0, wantarray => 1);
    expect_silence($c, 'an empty list in list context is not answered');

    $s = call($c, "poe://$SRV/echo/store?extra", 'first');
    expect_reply($c, '"?NAME" appends NAME to the arguments', $s, [ 'first', 'extra' ]);

    $s = call($c, { kernel => $SRV, session => 'echo', state => 'IKC:proxy' }, [ 'add', [ 4, 5 ] ]);
    expect_reply($c, 'a call through IKC:proxy is answered', $s, 9);

    $s = call($c, "poe://$SRV/IKC/do_you_have", [ { kernel => $SRV, session => 'nope', state => '' }, 'x' ]);
    expect_reply($c, 'do_you_have of an unpublished session: refused', $s, "Refused subscription poe://$SRV/nope");
    $s = call($c, "poe://$SRV/IKC/do_you_have", [ { kernel => $SRV, session => 'echo', state => 'secret' }, 'x' ]);
    expect_reply($c, 'do_you_have of an unpublished state: refused', $s, "Refused subscription poe://$SRV/echo/secret");
    $s = call($c, "poe://$SRV/IKC/do_you_have", [ { kernel => '', session => 'echo', state => 'ping' }, 'x' ]);
    my $m = $c->msg;
    my $ok = $m && ref $m->{params} eq 'ARRAY' && ref $m->{params}[0] eq 'HASH'
        && $m->{params}[0]{session} eq 'echo' && $m->{params}[0]{state} eq 'ping'
        && $m->{params}[0]{kernel} eq $m->{params}[1] && $m->{params}[1] =~ /-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}\z/;
    check('do_you_have of a published state: [spec with our kernel ID, kernel ID]', $ok ? undef : 'bad receipt');

    $c->close;
}

{
    # A post without "from": nobody to send "pong" back to.
    my $c = lite();
    $c->send_msg({ event => "poe://$SRV/echo/ping", params => 'anon' });
    expect_silence($c, 'ping posted without from: nothing comes back');
    $c->close;
}

{
    # The HELLO dialogue against an IKC0 server, lines ended by LF only.
    my $c = conn();
    $c->send_bytes("HELLO\x0A");
    my @iam;
    my $l = $c->line // '';
    while ($l =~ /\AIAM (.*)/) { push @iam, $1; $c->send_bytes("OK\x0A"); $l = $c->line // '' }
    my $ok = $l eq 'DONE' && @iam == 3 && $iam[1] =~ /\A127\.0\.0\.1:\d+\z/ && $iam[2] eq $SRV;
    $c->send_bytes("IAM probe-hello\x0A");
    $ok &&= ($c->line // '') eq 'OK';
    $c->send_bytes("DONE\x0AFREEZER Nope\x0A");
    $ok &&= ($c->line // '') eq 'NOT';
    $c->send_bytes("FREEZER Storable\x0A");
    $ok &&= ($c->line // '') eq 'OK';
    $c->send_bytes("WORLD\x0A");
    $ok &&= ($c->line // '') eq 'UP';
    check('HELLO dialogue with an IKC0 server (IAM ID, ip:port, name; FREEZER Nope refused)',
        $ok ? undef : "names (@iam), last line '$l'");
    $c->send_msg({ event => "poe://$SRV/echo/add", params => [ 1, 1 ],
                   rsvp => { kernel => 'probe-hello', session => 'IKCLite', state => 'h' } });
    expect_reply($c, 'frames after the HELLO dialogue', 'h', 2);
    $c->close;
}

print "# $n checks, $failed failed\n";
exit($failed ? 1 : 0);
