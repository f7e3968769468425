#!/usr/bin/env perl
# Kaldi: filter_scp.pl [--exclude] [-f N] <id-list> [<in.scp>] > out.scp
# Prints the lines of in.scp (or stdin) whose field N (default 1; negative counts from the end)
# is (or with --exclude, is not) the first field of some line of <id-list>. Input order is kept.
use strict;
use warnings;
my $usage = "Usage: filter_scp.pl [--exclude] [-f N] <id-list> [<in.scp>] > out.scp\n";
my ($exclude, $field) = (0, 1);
while (@ARGV && $ARGV[0] =~ /^-/) {
  my $o = shift @ARGV;
  if ($o eq "--exclude") { $exclude = 1; }
  elsif ($o eq "-f") {
    $field = shift @ARGV;
    defined $field && $field =~ /^-?[1-9]\d*$/ or die "filter_scp.pl: -f needs a non-zero integer\n$usage";
  } else { die "filter_scp.pl: unknown option $o\n$usage"; }
}
@ARGV == 1 || @ARGV == 2 or die $usage;
my $idlist = shift @ARGV;
open(my $fh, "<", $idlist) or die "filter_scp.pl: cannot open id list $idlist: $!\n";
my %keep;
while (<$fh>) { my ($id) = split(' ', $_); $keep{$id} = 1 if defined $id; }
close($fh);
my $idx = $field > 0 ? $field - 1 : $field;
while (my $line = <>) {
  my @f = split(' ', $line);
  my $key = $f[$idx];
  next unless defined $key;
  print $line if ($exclude xor exists $keep{$key});
}
