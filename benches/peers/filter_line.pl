#!/usr/bin/perl
# Perl side of `cargo bench --bench filters`, bench=filter_line.
# POE::Filter::Line doing echo work on 32-byte lines (30 octets + CR LF):
# input arrives in 64 KiB reads, every line is taken with get_one and
# written back with put. Prints MB/s of input.
use strict;
use warnings;
use POE::Filter::Line;
use Time::HiRes qw(time);

my $seconds = shift // 2;
my $line    = ("x" x 30) . "\r\n";
my $chunk   = $line x (65536 / 32);    # 2048 lines, 64 KiB
my $filter  = POE::Filter::Line->new;

my ($bytes, $lines, $out) = (0, 0, 0);
my $start = time;
while (time - $start < $seconds) {
  for (1 .. 4) {
    $filter->get_one_start([$chunk]);
    while (1) {
      my $got = $filter->get_one;
      last unless @$got;
      $out += length $filter->put($got)->[0];
      $lines++;
    }
    $bytes += length $chunk;
  }
}
my $elapsed = time - $start;
die "lost lines" unless $lines * 32 == $bytes and $out == $bytes;
printf "bench=filter_line impl=perl-poe metric=mb_per_s value=%.1f\n", $bytes / $elapsed / 1e6;
