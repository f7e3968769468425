#!/usr/bin/env perl
# Kaldi: spk2utt ("<spk> <utt1> <utt2> ...", file or stdin) -> utt2spk ("<utt> <spk>"), in input order.
use strict;
use warnings;
die "Usage: spk2utt_to_utt2spk.pl [spk2utt] > utt2spk\n" if @ARGV > 1 || (@ARGV && $ARGV[0] =~ /^-./);
while (my $line = <>) {
  my ($s, @u) = split(' ', $line);
  defined $s && @u or die "spk2utt_to_utt2spk.pl: $ARGV:$.: expected '<spk> <utt1> ...', got: $line";
  print "$_ $s\n" for @u;
}
