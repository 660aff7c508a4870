#!/usr/bin/perl
# Check peer.pl's server mode against the captured Perl-to-Perl IKC
# transcript (/work/shared/ikc-transcript.txt).
#
# For each section (A: IKC::Client, B: ClientLite, C: HELLO dialogue,
# D: SETUP -> NOT -> HELLO fallback) it starts a fresh `peer.pl server`,
# replays the recorded client->server bytes connection by connection and
# chunk by chunk, and compares what our server answers with what the real
# Perl IKC server answered: negotiation lines exactly, frames by thawing
# both and comparing them structurally, including each scalar's wire type
# (integer / string / character string) and hash key flags.  The server's
# own identity (kernel ID, ip:port, PID) necessarily differs; it is mapped
# to the transcript's before comparing, after checking its shape.
#
#   perl check_transcript.pl [--transcript FILE] [--sections ABCD] [--verbose]
#
# Prints "ok ..." / "not ok ..." per compared unit and exits non-zero on
# any mismatch.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Getopt::Long qw(GetOptions);
use POSIX qw(WNOHANG);
use Storable qw(thaw);
use Time::HiRes qw(time sleep);
use B ();
use IKCPeer::Raw qw(raw_connect next_unit read_units write_all);

$| = 1;
my %opt = (transcript => '/work/shared/ikc-transcript.txt', sections => 'ABCD');
GetOptions(\%opt, 'transcript=s', 'sections=s', 'verbose') or die "bad options\n";

my $PEER = "$FindBin::Bin/peer.pl";
my $KERNEL_ID_RE = qr/\A[-.\w]+-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}\z/;
my $ADDR_RE      = qr/\A127\.0\.0\.1:\d+\z/;
use constant TURN_TIMEOUT  => 5;     # seconds to wait for one turn's answers
use constant SETTLE_TIME   => 1.0;   # then this long for anything extra

# Server options per section: C and D ran against an IKC-only server.
my %SERVER_ARGS = (
    A => [ '--name', 'perlsrv' ],
    B => [ '--name', 'perlsrv' ],
    C => [ '--name', 'perlsrv', '--protocol', 'IKC' ],
    D => [ '--name', 'perlsrv', '--protocol', 'IKC' ],
);

my ($checks, $failures) = (0, 0);
my $sections = parse_transcript($opt{transcript});
for my $letter (split //, $opt{sections}) {
    my $conns = $sections->{$letter} or die "no section $letter in $opt{transcript}\n";
    check_section($letter, $conns);
}
print "# $checks checks, $failures failed\n";
exit($failures ? 1 : 0);

#---------------------------------------------------------------------
# Transcript parsing: section -> [connection -> [chunk {dir, bytes}]]

sub parse_transcript {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!\n";
    my (%sections, $section, $conn, $chunk);
    while (my $line = <$fh>) {
        if ($line =~ /^######## Section (\w):/) {
            $section = $sections{$1} = [];
        }
        elsif ($line =~ /^@@ connection (\d+) (.*)/) {
            $conn = { label => $2, chunks => [] };
            push @$section, $conn;
        }
        elsif ($line =~ /^=== chunk (\d+) (C>S|S>C) (\d+) bytes/) {
            $chunk = { n => $1, dir => $2, size => $3, bytes => '' };
            push @{ $conn->{chunks} }, $chunk;
        }
        elsif ($line =~ /^(C>S|S>C) [0-9a-f]{8}  ((?:[0-9a-f]{2} )*[0-9a-f]{2})  /) {
            die "hex line outside its chunk at line $.\n" unless $chunk && $chunk->{dir} eq $1;
            $chunk->{bytes} .= pack 'H*', join '', split / /, $2;
        }
    }
    for my $conns (values %sections) {
        for my $c (@$conns) {
            for my $ch (@{ $c->{chunks} }) {
                die "chunk $ch->{n} of '$c->{label}': $ch->{size} bytes announced, "
                    . length($ch->{bytes}) . " read\n" if length $ch->{bytes} != $ch->{size};
            }
        }
    }
    return \%sections;
}

#---------------------------------------------------------------------
# Units: negotiation lines (CRLF-terminated) and frames (len NUL payload),
# as IKCPeer::Raw::next_unit splits them.

# Expected answers, split into turns: turn i holds what the server sent
# after the client's i-th chunk and before its next one.
sub turns_of {
    my ($conn) = @_;
    my (@turns, $buf);
    $buf = '';
    for my $ch (@{ $conn->{chunks} }) {
        if ($ch->{dir} eq 'C>S') {
            push @turns, { send => $ch->{bytes}, expect => [] };
            next;
        }
        die "server spoke first in '$conn->{label}'\n" unless @turns;
        $buf .= $ch->{bytes};
        while (my $u = next_unit(\$buf)) {
            push @{ $turns[-1]{expect} }, $u;
        }
    }
    die "trailing partial unit in '$conn->{label}'\n" if length $buf;
    return @turns;
}

#---------------------------------------------------------------------
# One section: a fresh server, each connection replayed in order

sub check_section {
    my ($letter, $conns) = @_;
    print "# section $letter: peer.pl server @{ $SERVER_ARGS{$letter} }\n";
    my $server = start_server(@{ $SERVER_ARGS{$letter} });
    my $i = 0;
    for my $conn (@$conns) {
        $i++;
        replay($letter, $i, $conn, $server);
    }
    stop_server($server, $letter);
}

sub replay {
    my ($letter, $n, $conn, $server) = @_;
    my $tag = "$letter$n";
    print "# $tag: $conn->{label}\n";
    my $sock = raw_connect($server->{port});
    my $map = { server_pid => $server->{pid} };
    my $buf = '';
    my $u = 0;
    for my $turn (turns_of($conn)) {
        write_all($sock, $turn->{send});
        my @got = read_units($sock, \$buf, scalar @{ $turn->{expect} }, TURN_TIMEOUT);
        for my $k (0 .. $#{ $turn->{expect} }) {
            $u++;
            compare_unit("$tag unit $u", $turn->{expect}[$k], $got[$k], $map);
        }
        for my $extra (@got[ @{ $turn->{expect} } .. $#got ]) {
            $u++;
            fail("$tag unit $u", 'unexpected extra unit: ' . describe($extra));
        }
    }
    # Anything more (e.g. an answer to echo/nothing) is a mismatch.
    for my $extra (read_units($sock, \$buf, undef, SETTLE_TIME)) {
        $u++;
        fail("$tag unit $u", 'unexpected extra unit: ' . describe($extra));
    }
    close $sock;
    sleep 0.2;    # let the server notice the close before the next connection
}

#---------------------------------------------------------------------
# Comparing

sub compare_unit {
    my ($what, $want, $got, $map) = @_;
    return fail($what, 'missing; want ' . describe($want)) unless $got;
    if (defined $want->{line}) {
        return fail($what, 'got a frame, want line ' . describe($want)) unless defined $got->{line};
        my $err = learn_identity($want->{line}, $got->{line}, $map);
        return fail($what, $err) if $err;
        my $line = apply_map($got->{line}, $map);
        return $line eq $want->{line}
            ? pass($what, "line '$want->{line}'")
            : fail($what, "line '$got->{line}', want '$want->{line}'");
    }
    return fail($what, 'got line ' . describe($got) . ', want a frame') unless defined $got->{frame};
    my $w = thaw($want->{frame});
    my $g = eval { thaw($got->{frame}) };
    return fail($what, "our frame does not thaw: $@") unless $g;
    my $wt = typed($w);
    my $gt = typed(map_data($g, $map));
    return $wt eq $gt
        ? pass($what, 'frame ' . summary($w))
        : fail($what, "frame differs\n#   want: $wt\n#   got:  $gt");
}

# Our server's kernel ID, address and PID differ from the transcript's:
# learn the correspondence from SETUP / IAM lines, checking the shapes.
sub learn_identity {
    my ($want, $got, $map) = @_;
    my @pairs;
    if ($want =~ /\ASETUP (.*)/ && $got =~ /\ASETUP (.*)/) {
        my ($wk) = $want =~ /KERNEL=([^;]*)/;
        my ($gk) = $got =~ /KERNEL=([^;]*)/;
        return "no KERNEL= in '$got'" unless defined $gk;
        my @w = split /,/, $wk;
        my @g = split /,/, $gk;
        push @pairs, map { [ $g[$_], $w[$_] ] } grep { $_ < @g } 0 .. $#w;
        my ($wp) = $want =~ /PID=(\d+)/;
        my ($gp) = $got =~ /PID=(\d+)/;
        if (defined $gp) {
            return "PID=$gp is not the server's pid $map->{server_pid}" if $gp != $map->{server_pid};
            $map->{pid} = [ "PID=$gp", "PID=$wp" ];
        }
    }
    elsif ($want =~ /\AIAM (.*)/) {
        my $w = $1;
        my ($g) = $got =~ /\AIAM (.*)/ or return "got '$got', want '$want'";
        push @pairs, [ $g, $w ];
    }
    for my $p (@pairs) {
        my ($g, $w) = @$p;
        next if $g eq $w;
        if ($w =~ $KERNEL_ID_RE) {
            return "'$g' does not look like a POE kernel ID" unless $g =~ $KERNEL_ID_RE;
        }
        elsif ($w =~ $ADDR_RE) {
            return "'$g' is not a 127.0.0.1:port address" unless $g =~ $ADDR_RE;
        }
        else {
            next;    # a real difference: the comparison will report it
        }
        $map->{names}{$g} = $w;
    }
    return undef;
}

sub apply_map {
    my ($s, $map) = @_;
    for my $g (sort { length $b <=> length $a } keys %{ $map->{names} || {} }) {
        my $w = $map->{names}{$g};
        $s =~ s/\Q$g\E/$w/g;
    }
    if ($map->{pid}) {
        my ($g, $w) = @{ $map->{pid} };
        $s =~ s/\Q$g\E/$w/;
    }
    return $s;
}

# A copy of a thawed value with our identity replaced in strings and hash
# keys; other scalars are copied untouched so their types survive.
sub map_data {
    my ($v, $map) = @_;
    my $r = ref $v;
    if ($r eq 'ARRAY') { return [ map { map_data($_, $map) } @$v ] }
    if ($r eq 'HASH') {
        return { map { (is_string($_) ? apply_map($_, $map) : $_) => map_data($v->{$_}, $map) } keys %$v };
    }
    if ($r eq 'SCALAR' || $r eq 'REF') { my $x = map_data($$v, $map); return \$x }
    return $v if $r || !defined $v || !is_string($v);
    return apply_map($v, $map);
}

sub is_string { B::svref_2object(\$_[0])->FLAGS & B::SVf_POK }

# Canonical text of a value that keeps what Storable put on the wire:
# i = integer, s = byte string, u = character string (utf8 flag).
sub typed {
    my $r = ref $_[0];
    return 'undef' unless defined $_[0];
    if ($r eq 'ARRAY') { return '[' . join(',', map { typed($_) } @{ $_[0] }) . ']' }
    if ($r eq 'HASH') {
        my $h = $_[0];
        return '{' . join(',', map { key_text($_) . '=>' . typed($h->{$_}) } sort keys %$h) . '}';
    }
    if ($r eq 'SCALAR' || $r eq 'REF') { return '\\' . typed(${ $_[0] }) }
    return "<$r>" if $r;
    my $flags = B::svref_2object(\$_[0])->FLAGS;
    my $type = $flags & B::SVf_POK ? (utf8::is_utf8($_[0]) ? 'u' : 's')
             : $flags & B::SVf_IOK ? 'i'
             : $flags & B::SVf_NOK ? 'n'
             : '?';
    return $type . quote($_[0]);
}

sub key_text { (utf8::is_utf8($_[0]) ? 'u' : '') . quote($_[0]) }

sub quote {
    my ($s) = @_;
    $s =~ s/([^\x20-\x7e]|["\\])/sprintf '\\x{%x}', ord $1/ge;
    return qq{"$s"};
}

sub summary {
    my ($m) = @_;
    return '?' unless ref $m eq 'HASH';
    my $e = $m->{event};
    my $to = ref $e eq 'HASH'
        ? join('/', map { defined $e->{$_} ? $e->{$_} : '' } qw(kernel session state))
        : $e;
    $to = "$to/$m->{params}[0]" if ref $e eq 'HASH' && ($e->{state} || '') eq 'IKC:proxy'
        && ref $m->{params} eq 'ARRAY';
    return ($m->{is_error} ? 'error to ' : 'to ') . $to;
}

sub describe {
    my ($u) = @_;
    return "line '$u->{line}'" if defined $u->{line};
    my $m = eval { thaw($u->{frame}) };
    return $m ? 'frame ' . summary($m) : 'unthawable frame';
}

sub pass {
    my ($what, $text) = @_;
    $checks++;
    print "ok $what: $text\n";
    return 1;
}

sub fail {
    my ($what, $text) = @_;
    $checks++;
    $failures++;
    print "not ok $what: $text\n";
    return 0;
}

#---------------------------------------------------------------------
# The server under test

sub start_server {
    my (@args) = @_;
    my $out = "/tmp/ikc-check-$$-" . int(rand 1e9) . '.out';
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        open STDOUT, '>', $out or die "$out: $!\n";
        open STDERR, '>&', \*STDOUT or die "dup: $!\n";
        exec $^X, $PEER, 'server', @args or die "exec: $!\n";
    }
    my $deadline = time + 10;
    while (time < $deadline) {
        if (open my $fh, '<', $out) {
            while (<$fh>) {
                return { pid => $pid, port => $1, out => $out } if /^READY (\d+)$/;
            }
        }
        sleep 0.05;
    }
    kill TERM => $pid;
    die "server did not print READY\n";
}

# Ask the server to quit (echo/quit, as a ClientLite would post it) and
# check that it exits by itself.
sub stop_server {
    my ($server, $letter) = @_;
    my $ok = eval { post_quit($server->{port}); 1 };
    print "# quit: $@" unless $ok;
    my $deadline = time + 5;
    my $gone;
    while (time < $deadline) {
        if (waitpid($server->{pid}, WNOHANG) == $server->{pid}) { $gone = 1; last }
        sleep 0.05;
    }
    if ($gone && $? == 0) {
        pass("server $letter", 'exited cleanly after echo/quit');
    }
    else {
        fail("server $letter", $gone ? "exit status $?" : 'still running after echo/quit');
        kill TERM => $server->{pid} unless $gone;
        waitpid($server->{pid}, 0) unless $gone;
    }
    if ($opt{verbose} && open my $fh, '<', $server->{out}) {
        print "#   server: $_" while <$fh>;
    }
    unlink $server->{out};
}

# Post echo/quit as a ClientLite would (SETUP, or HELLO if refused).
sub post_quit {
    my ($port) = @_;
    my $c = IKCPeer::Raw->new($port);
    $c->negotiate('checker');
    $c->send_msg({ event => 'poe://perlsrv/echo/quit', params => undef });
    $c->drain(1);    # until the server closes
    $c->close;
}
