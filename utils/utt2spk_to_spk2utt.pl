#!/usr/bin/env perl
# Kaldi: utt2spk ("<utt> <spk>" lines, file or stdin) -> spk2utt ("<spk> <utt1> <utt2> ...").
# Speakers come in order of first appearance, utterances in input order (as Kaldi does);
# the data-dir tools pipe the output through `sort -k1,1`.
use strict;
use warnings;
die "Usage: utt2spk_to_spk2utt.pl [utt2spk] > spk2utt\n" if @ARGV > 1 || (@ARGV && $ARGV[0] =~ /^-./);
my (@spks, %utts);
while (my $line = <>) {
  my @f = split(' ', $line);
  @f == 2 or die "utt2spk_to_spk2utt.pl: $ARGV:$.: expected '<utt> <spk>', got: $line"
    . "fix the utt2spk file (utils/fix_data_dir.sh)\n";
  my ($u, $s) = @f;
  push @spks, $s unless exists $utts{$s};
  push @{ $utts{$s} }, $u;
}
print "$_ @{$utts{$_}}\n" for @spks;
