#!/usr/bin/perl
# Perl side of `cargo bench --bench filters`, bench=storable.
# A typical IKC request (a call with RSVP, as in the IKC transcript)
# frozen with nfreeze and thawed again. Prints round trips per second.
use strict;
use warnings;
use Storable qw(nfreeze thaw);
use Time::HiRes qw(time);

my $seconds = shift // 2;
my $request = {
  event  => "poe://perlsrv/echo/add",
  params => [1, 2, "3.5", 40],
  rsvp   => { kernel => "perlcli", session => 2, state => "sum" },
  from   => { kernel => "vm-6b0125d2-0000322e-00000001", session => "tester", state => "IKC:proxy" },
  wantarray => "",
};

my $n = 0;
my $start = time;
while (time - $start < $seconds) {
  for (1 .. 1000) {
    my $back = thaw(nfreeze($request));
    $n++;
  }
}
my $elapsed = time - $start;
printf "bench=storable impl=perl-poe metric=roundtrips_per_s value=%.0f\n", $n / $elapsed;
