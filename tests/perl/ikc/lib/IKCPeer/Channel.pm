package IKCPeer::Channel;
# One IKC connection: a POE session owning a POE::Wheel::ReadWrite.  It
# negotiates with POE::Filter::Line (CRLF out, any of CR/LF/CRLF/LFCR in),
# in either role and either dialect (IKC0 "SETUP", IKC "HELLO ..."), then
# switches the wheel to POE::Filter::Reference (Storable nfreeze) and hands
# every frame to the responder.  See ikc-protocol.md sections 2 and 3.
use strict;
use warnings;
use POE qw(Wheel::ReadWrite Filter::Line Filter::Reference);
use Socket qw(sockaddr_in inet_ntoa);
use IKCPeer::Responder;

# spawn(handle => SOCKET, role => 'server'|'client', protocol => 'IKC0'|'IKC',
#       connect_to => "host:port" (client: a local alias for the server),
#       on_ready => sub { CHANNEL }, on_close => sub { CHANNEL }, verbose => 0|1)
sub spawn {
    my ($class, %p) = @_;
    my $self = bless {
        %p,
        phase  => undef,
        remote => [],     # names the remote announced, its ID first
        tell   => [],     # our names still to announce (HELLO dialect)
        thunks => {},
    }, $class;
    POE::Session->create(
        object_states => [
            $self => {
                _start   => '_start',
                _stop    => '_stop',
                input    => '_input',
                error    => '_error',
                flushed  => '_flushed',
                shutdown => '_shutdown',
                _child   => '_ignore',
            },
        ],
    );
    return $self;
}

sub remote_id { $_[0]{remote}[0] }
sub remote_names { @{ $_[0]{remote} } }
sub is_ready { ($_[0]{phase} || '') eq 'frames' }

sub _ignore { }

sub _start {
    my ($self, $kernel, $session) = @_[OBJECT, KERNEL, SESSION];
    $self->{sid} = $session->ID;
    my $sock = $self->{handle};
    my ($lport, $laddr) = sockaddr_in(getsockname($sock));
    my ($pport, $paddr) = sockaddr_in(getpeername($sock));
    $self->{local_addr} = inet_ntoa($laddr) . ":$lport";
    $self->{peer_addr}  = inet_ntoa($paddr) . ":$pport";

    # Names we announce: kernel ID, name, and our end of the socket.
    my $name = IKCPeer::Responder::name();
    my $id   = IKCPeer::Responder::kernel_id();
    $self->{names} = [ $id, ($name ne $id ? $name : ()), $self->{local_addr} ];

    $self->{wheel} = POE::Wheel::ReadWrite->new(
        Handle       => delete $self->{handle},
        Filter       => POE::Filter::Line->new,   # CRLF out, one write per line
        InputEvent   => 'input',
        ErrorEvent   => 'error',
        FlushedEvent => 'flushed',
    );

    if ($self->{role} eq 'client') {
        if ($self->{protocol} eq 'IKC') {
            $self->_hello_client_start;
        }
        else {
            # The offer list of a real IKC::Client (transcript section A),
            # so a server must pick Storable out of a list.  We would refuse
            # anything but Storable in its answer.
            $self->_line(join ';',
                'SETUP KERNEL=' . join(',', @{ $self->{names} }),
                'FREEZER=Storable,POE::Component::IKC::Freezer', "PID=$$");
            $self->{phase} = 'c010';
        }
    }
    else {
        $self->{phase} = $self->{protocol} eq 'IKC' ? 's000' : 's010';
    }
}

sub _stop { }

sub _line {
    my ($self, $line) = @_;
    $self->_say("> $line");
    $self->{wheel}->put($line) if $self->{wheel};
}

sub _say {
    my ($self, $text) = @_;
    print STDERR "[ikc $self->{role} $self->{sid}] $text\n" if $self->{verbose};
}

sub _warn {
    my ($self, $text) = @_;
    warn "IKC $self->{role} ($self->{peer_addr}): $text\n";
}

#---------------------------------------------------------------------
# Input

sub _input {
    my ($self, $data) = @_[OBJECT, ARG0];
    if ($self->{phase} eq 'frames') {
        # A frame that is not a hash kills a Perl IKC process (as does one
        # that Storable cannot thaw, which dies in the filter).  We are the
        # reference peer for such cases, so we die too, loudly.
        die "IKC peer: frame from $self->{peer_addr} is not a hash reference"
            . " (a Perl IKC peer dies here too)\n"
            unless ref $data eq 'HASH';
        return IKCPeer::Responder::request($self, $data);
    }
    $self->_say("< $data");
    my $handler = $self->can("_phase_$self->{phase}")
        or die "no handler for phase $self->{phase}";
    $self->$handler($data);
}

#---------------------------------------------------------------------
# IKC0 dialect (section 3.2)

# "SETUP KERNEL=a,b;FREEZER=x,y;PID=n" -> { kernel => [...], freezer => [...], pid }
# or undef when any item matches none of the three forms.
sub _parse_setup {
    my ($text) = @_;
    my %s = (kernel => [], freezer => [], pid => undef);
    for my $item (split /;/, $text) {
        if    ($item =~ /KERNEL=(.+)/)  { push @{ $s{kernel} },  split /,/, $1 }
        elsif ($item =~ /FREEZER=(.+)/) { push @{ $s{freezer} }, split /,/, $1 }
        elsif ($item =~ /PID=(\d+)/)    { $s{pid} = $1 }
        else                            { return undef }
    }
    return @{ $s{kernel} } ? \%s : undef;
}

# Server, waiting for the client's first line.
sub _phase_s010 {
    my ($self, $line) = @_;
    if ($line =~ /\ASETUP (.*)\z/s) {
        my $setup = _parse_setup($1);
        # Only Storable is ever accepted (never the eval-ing Dumper freezer).
        unless ($setup && grep { $_ eq 'Storable' } @{ $setup->{freezer} }) {
            return $self->_line('NOT');
        }
        $self->_line(join ';',
            'SETUP KERNEL=' . join(',', @{ $self->{names} }),
            'FREEZER=Storable', "PID=$$");
        return $self->_go_frames($setup->{kernel}, $self->{peer_addr});
    }
    if ($line eq 'HELLO') {
        $self->{phase} = 's000';
        return $self->_phase_s000($line);
    }
    return $self->_line('NOT') if $line =~ /\AHELLO IKC\d/;
    # Anything else (junk, empty lines, NOT) is ignored, as Perl does.
}

# Client, after sending its SETUP.
sub _phase_c010 {
    my ($self, $line) = @_;
    if ($line =~ /\ASETUP (.*)\z/s) {
        my $setup = _parse_setup($1);
        if ($setup && @{ $setup->{freezer} } == 1 && $setup->{freezer}[0] eq 'Storable') {
            return $self->_go_frames($setup->{kernel}, $self->{connect_to});
        }
        return $self->_line('NOT');
    }
    if ($line eq 'NOT') {
        # An IKC-only server: fall back to the HELLO dialogue.
        return $self->_hello_client_start;
    }
    $self->_line('NOT');
}

#---------------------------------------------------------------------
# IKC dialect, the HELLO dialogue (section 3.3)

sub _hello_client_start {
    my ($self) = @_;
    $self->_line('HELLO');
    $self->{phase} = 'c000';
}

# Announce our names: kernel ID first, then the others from the end of
# the list (so "ip:port" before the name, as Perl does).
sub _tell_names {
    my ($self) = @_;
    my @names = @{ $self->{names} };
    $self->_line("IAM $names[0]");
    $self->{tell}  = [ @names[ 1 .. $#names ] ];
    $self->{phase} = 'tell';
}

sub _phase_tell {
    my ($self, $line) = @_;
    if ($line eq 'OK') {
        if (my $name = pop @{ $self->{tell} }) {
            return $self->_line("IAM $name");
        }
        $self->_line('DONE');
        if ($self->{role} eq 'server') {
            $self->{phase} = 's002';
        }
        else {
            $self->_line('FREEZER Storable');
            $self->{phase} = 'c002';
        }
        return;
    }
    $self->_unexpected($line);
}

# Perl's answer to an unexpected line: a warning, and NOT unless it was NOT.
sub _unexpected {
    my ($self, $line) = @_;
    $self->_warn("unexpected '$line' in phase $self->{phase}");
    $self->_line('NOT') unless $line eq 'NOT';
}

sub _phase_s000 {
    my ($self, $line) = @_;
    return $self->_tell_names if $line eq 'HELLO';
    return $self->_line('NOT') if $line =~ /\AHELLO IKC\d/ || $line =~ /\ASETUP/;
    $self->_warn("unexpected '$line' before HELLO");
}

sub _phase_s002 {
    my ($self, $line) = @_;
    if ($line =~ /\AIAM ([-:.\w]+)\z/) {
        push @{ $self->{remote} }, $1;
        return $self->_line('OK');
    }
    return $self->{phase} = 's003' if $line eq 'DONE';
    $self->_unexpected($line);
}

sub _phase_s003 {
    my ($self, $line) = @_;
    if ($line =~ /\AFREEZER (.*)\z/s) {
        my $package = $1;
        return $self->_line($package eq 'Storable' ? 'OK' : 'NOT');
    }
    if ($line eq 'WORLD') {
        $self->_line('UP');
        my @names = @{ $self->{remote} };
        $self->{remote} = [];
        return $self->_go_frames(\@names, $self->{peer_addr});
    }
    $self->_unexpected($line);
}

sub _phase_c000 {
    my ($self, $line) = @_;
    if ($line =~ /\AIAM (.+)\z/s) {
        push @{ $self->{remote} }, $1;
        return $self->_line('OK');
    }
    return $self->_tell_names if $line eq 'DONE';
    $self->_unexpected($line);
}

sub _phase_c002 {
    my ($self, $line) = @_;
    # OK: Storable accepted.  NOT: our only offer refused; Perl then goes
    # on with the default serializer, which is Storable too.
    if ($line eq 'OK' || $line eq 'NOT') {
        $self->_line('WORLD');
        return $self->{phase} = 'c003';
    }
    $self->_unexpected($line);
}

sub _phase_c003 {
    my ($self, $line) = @_;
    if ($line eq 'UP') {
        my @names = @{ $self->{remote} };
        $self->{remote} = [];
        return $self->_go_frames(\@names, $self->{connect_to});
    }
    $self->_unexpected($line);
}

#---------------------------------------------------------------------
# Frames

# Negotiation done: register the remote (its first name is its ID), then
# switch the wheel's filters.  Registering first matters: switching the
# input filter immediately delivers frames that arrived with the last line.
sub _go_frames {
    my ($self, $names, $local_alias) = @_;
    $self->{remote} = [ @$names, (defined $local_alias ? $local_alias : ()) ];
    $self->{phase} = 'frames';
    my $wheel = $self->{wheel};
    $wheel->set_output_filter(POE::Filter::Reference->new('Storable'));
    IKCPeer::Responder::register($self, $self->{remote}[0], [ @{ $self->{remote} }[ 1 .. $#{ $self->{remote} } ] ]);
    $self->_say("registered " . join(', ', @{ $self->{remote} }));
    $self->{on_ready}->($self) if $self->{on_ready};
    $wheel->set_input_filter(POE::Filter::Reference->new('Storable')) if $self->{wheel};
}

sub send {
    my ($self, $msg) = @_;
    return 0 unless $self->{wheel} && $self->{phase} eq 'frames' && !$self->{closing};
    $self->{wheel}->put($msg);
    return 1;
}

#---------------------------------------------------------------------
# Closing

sub _error {
    my ($self, $op, $errnum, $errstr) = @_[OBJECT, ARG0 .. ARG2];
    $self->_say("$op error $errnum: $errstr") if $errnum;
    $self->_close;
}

# Close after the output buffer is flushed.
sub shutdown {
    my ($self) = @_;
    return unless $self->{wheel};
    $poe_kernel->post($self->{sid}, 'shutdown');
}

sub _shutdown {
    my ($self) = $_[OBJECT];
    return unless $self->{wheel};
    $self->{closing} = 1;
    return $self->_close unless $self->{wheel}->get_driver_out_octets;
}

sub _flushed {
    my ($self) = $_[OBJECT];
    $self->_close if $self->{closing};
}

sub _close {
    my ($self) = @_;
    return unless $self->{wheel};
    delete $self->{wheel};
    if ($self->{phase} eq 'frames') {
        IKCPeer::Responder::unregister($self);
    }
    $self->{phase} = 'closed';
    $poe_kernel->call($_, 'release') for values %{ $self->{thunks} };
    $self->{thunks} = {};
    $self->{on_close}->($self) if $self->{on_close};
}

1;
