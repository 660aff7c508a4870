package IKCPeer::Raw;
# A blocking, byte-level IKC client for checks: writes exactly the bytes
# it is given and reads "units" (CRLF-terminated negotiation lines, or
# "len NUL payload" frames).  Used by check_transcript.pl and probe.pl;
# peer.pl itself uses POE.
use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use IO::Select;
use Storable qw(nfreeze thaw);
use Time::HiRes qw(time);

our @EXPORT_OK = qw(raw_connect next_unit read_units write_all frame_bytes);

sub raw_connect {
    my ($port) = @_;
    my $sock = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5,
    ) or die "connect 127.0.0.1:$port: $!\n";
    binmode $sock;
    return $sock;
}

# Take one complete unit off the front of BUF: {line => TEXT} or
# {frame => PAYLOAD}; undef if incomplete.  Frames start with a digit,
# negotiation lines never do.
sub next_unit {
    my ($bufref) = @_;
    if ($$bufref =~ /\A\d/) {
        return undef unless $$bufref =~ /\A(\d+)\0/;
        my ($len, $head) = ($1, length($1) + 1);
        return undef if length($$bufref) < $head + $len;
        my $payload = substr($$bufref, $head, $len);
        substr($$bufref, 0, $head + $len) = '';
        return { frame => $payload };
    }
    return undef unless $$bufref =~ s/\A(.*?)\x0D\x0A//s;
    return { line => $1 };
}

# Read until COUNT units are there (COUNT undef: until TIMEOUT), or EOF.
sub read_units {
    my ($sock, $bufref, $count, $timeout) = @_;
    my @units;
    my $deadline = time + $timeout;
    my $sel = IO::Select->new($sock);
    while (1) {
        while (my $unit = next_unit($bufref)) { push @units, $unit }
        last if defined $count && @units >= $count;
        my $left = $deadline - time;
        last if $left <= 0;
        next unless $sel->can_read($left);
        my $n = sysread($sock, my $data, 65536);
        last unless $n;
        $$bufref .= $data;
    }
    return @units;
}

sub write_all {
    my ($sock, $bytes) = @_;
    while (length $bytes) {
        my $n = syswrite($sock, $bytes);
        die "write: $!\n" unless defined $n;
        substr($bytes, 0, $n) = '';
    }
}

# The bytes of one frame carrying MSG.
sub frame_bytes {
    my ($msg) = @_;
    my $payload = nfreeze($msg);
    return length($payload) . "\0" . $payload;
}

#---------------------------------------------------------------------
# A connection object for scripted exchanges

sub new {
    my ($class, $port) = @_;
    return bless { sock => raw_connect($port), buf => '', queue => [] }, $class;
}

sub send_bytes { write_all($_[0]{sock}, $_[1]) }
sub send_line  { write_all($_[0]{sock}, "$_[1]\x0D\x0A") }
sub send_msg   { write_all($_[0]{sock}, frame_bytes($_[1])) }

# Next unit within TIMEOUT seconds (default 3), or undef.
sub unit {
    my ($self, $timeout) = @_;
    # One read may bring several units: keep the ones not asked for yet.
    push @{ $self->{queue} }, read_units($self->{sock}, \$self->{buf}, 1, defined $timeout ? $timeout : 3)
        unless @{ $self->{queue} };
    return shift @{ $self->{queue} };
}

sub line {
    my ($self, $timeout) = @_;
    my $u = $self->unit($timeout) or return undef;
    return defined $u->{line} ? $u->{line} : "<frame>";
}

# Next frame, thawed, or undef.
sub msg {
    my ($self, $timeout) = @_;
    my $u = $self->unit($timeout) or return undef;
    return undef unless defined $u->{frame};
    return thaw($u->{frame});
}

# Everything that arrives within TIMEOUT seconds.
sub drain {
    my ($self, $timeout) = @_;
    my @units = splice @{ $self->{queue} };
    return @units, read_units($self->{sock}, \$self->{buf}, undef, $timeout);
}

# Negotiate like ClientLite: SETUP, or the HELLO dialogue if refused.
# Returns the server's names.
sub negotiate {
    my ($self, $name) = @_;
    my $answer = $self->_ask("SETUP KERNEL=$name;FREEZER=Storable;PID=$$");
    return [ split /,/, $1 ] if $answer =~ /\ASETUP KERNEL=([^;]*)/;
    die "SETUP answered '$answer'\n" unless $answer eq 'NOT';
    my @names;
    my $l = $self->_ask('HELLO');
    while ($l =~ /\AIAM (.*)/) {
        push @names, $1;
        $l = $self->_ask('OK');
    }
    die "HELLO dialogue: '$l'\n" unless $l eq 'DONE';
    $self->_ask("IAM $name") eq 'OK' or die "IAM refused\n";
    $self->send_line('DONE');
    $self->_ask('FREEZER Storable') eq 'OK' or die "FREEZER refused\n";
    $self->_ask('WORLD') eq 'UP' or die "no UP\n";
    return \@names;
}

sub _ask {
    my ($self, $line) = @_;
    $self->send_line($line);
    my $answer = $self->line;
    die "no answer to '$line'\n" unless defined $answer;
    return $answer;
}

sub close { close $_[0]{sock} }

1;
