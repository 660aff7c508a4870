package IKCPeer::Spec;
# IKC "specifiers": the addresses of remote states, as strings
# (poe://KERNEL/SESSION/STATE and the shorter forms) or as hashes
# {kernel, session, state}.  See ikc-protocol.md section 5.2.
use strict;
use warnings;
use Exporter 'import';

our @EXPORT_OK = qw(spec_parse spec_name spec_key);

# Character classes of the string form.  A kernel may be a plain name,
# "host:port", a Unix socket name or "*" (all kernels).
my $KERNEL  = qr/\*|[-. \w]+|[a-zA-Z0-9][-.a-zA-Z0-9]+:\d+|unix:[-.\w]+(?::\d+-\d+)?/;
my $SESSION = qr/[- \w]+/;
my $STATE   = qr/[- \w]*/;

# Parse a specifier (string or hash) into a fresh hash
# {kernel, session, state} plus "args" => [NAME] when the string ended
# in "?NAME".  Returns undef for a string nobody can parse; the caller
# decides what that means (the receiver treats it as all-empty).
sub spec_parse {
    my ($spec) = @_;
    return undef unless defined $spec;
    if (ref $spec eq 'HASH') {
        # Hash form: missing parts read as "" (Perl's own hashes may omit
        # "state", e.g. ClientLite's "from").
        return { map { $_ => (defined $spec->{$_} ? $spec->{$_} : '') }
                 qw(kernel session state) };
    }
    return undef if ref $spec;

    my $str = $spec;
    my @args;
    push @args, $1 if $str =~ s/\?(\w+)\z//;
    $str =~ s/\Apoe://;

    my ($k, $s, $t) = ('', '', '');
    if ($str =~ m{\A//($KERNEL)(?:/($SESSION)(?:/($STATE))?)?\z}) {
        ($k, $s, $t) = ($1, $2, $3);
    }
    elsif ($str =~ m{\A/($SESSION)/($STATE)\z} or $str =~ m{\A($SESSION)/($STATE)\z}) {
        ($s, $t) = ($1, $2);
    }
    elsif ($str =~ m{\A($STATE)\z}) {
        $t = $1;
    }
    else {
        return undef;
    }
    my %h = (kernel => $k // '', session => $s // '', state => $t // '');
    $h{args} = \@args if @args;
    return \%h;
}

# Canonical string form, as Perl's specifier_name prints it in error
# messages: "poe:" + "//K" + "/S" + "/T", each only when non-empty.
sub spec_name {
    my ($spec) = @_;
    my $h = ref $spec eq 'HASH' ? $spec : (spec_parse($spec) || {});
    my $name = 'poe:';
    $name .= "//$h->{kernel}"  if defined $h->{kernel}  && length $h->{kernel};
    $name .= "/$h->{session}"  if defined $h->{session} && length $h->{session};
    $name .= "/$h->{state}"    if defined $h->{state}   && length $h->{state};
    return $name;
}

# Key of the (session, state) pair used for one-shot RSVP allowances and
# for publication lookups.
sub spec_key {
    my ($session, $state) = @_;
    return join "\0", $session // '', $state // '';
}

1;
