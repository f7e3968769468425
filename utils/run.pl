#!/usr/bin/env perl
# Kaldi's $cmd interface, run locally:
#   run.pl [--max-jobs-run N] [--mem X] [--gpu N] [--num-threads N] [JOB=1:N] log/x.JOB.log command args...
# JOB (any upper-case name) is replaced by the job index in the log name and in the arguments;
# without a range the command runs once. The command runs under bash: arguments without
# whitespace are passed raw (so a separate '|', '>' or '&&' is a shell operator, as in Kaldi),
# arguments with whitespace are quoted; a lone command argument is a whole shell command line.
# Each log starts with "# <command>" and "# Started at", ends with "# Accounting: time=<s>
# threads=1" and "# Ended (code N) at ..., elapsed time N seconds". Jobs run in parallel, at
# most --max-jobs-run at a time (default: all). --mem, --gpu, --num-threads, --config and other
# "--opt value" pairs are accepted and ignored here (they matter to slurm.pl).
# Exit status 1 if any job fails, naming the failed logs.
use strict;
use warnings;
use FindBin qw($RealBin);
use lib "$RealBin/lib";
use File::Basename qw(dirname);
use File::Path qw(make_path);
use AsvJobs qw(parse_cmdline job_log job_cmd now shell_quote report_failures);

my $job = parse_cmdline("run.pl", @ARGV);
my $max_jobs_run = $job->{opts}{max_jobs_run};

# Runs one job in a child process; returns its pid.
sub start_job {
  my ($id) = @_;
  my $pid = fork();
  defined $pid or die "run.pl: fork failed: $!\n";
  return $pid if $pid;
  my ($cmd, $log) = (job_cmd($job, $id), job_log($job, $id));
  my $dir = dirname($log);
  eval { make_path($dir) unless -d $dir; 1 } or do { print STDERR "run.pl: cannot create $dir: $@"; exit 1; };
  open(my $fh, ">", $log) or do { print STDERR "run.pl: cannot write $log: $!\n"; exit 1; };
  print $fh "# $cmd\n# Started at " . now() . "\n#\n";
  close($fh);
  my $t0 = time();
  my $ret = system("bash", "-c", "( $cmd ) </dev/null >>" . shell_quote($log) . " 2>&1");
  my $code = $ret == -1 ? 127 : ($ret & 127) ? 128 + ($ret & 127) : $ret >> 8;
  my $elapsed = time() - $t0;
  open($fh, ">>", $log) or exit 1;
  print $fh "# Accounting: time=$elapsed threads=1\n";
  print $fh "# Ended (code $code) at " . now() . ", elapsed time $elapsed seconds\n";
  close($fh);
  exit($code == 0 ? 0 : 1);
}

my (%running, @failed);
sub reap {
  my $pid = waitpid(-1, 0);
  return if $pid <= 0 || !exists $running{$pid};
  push @failed, $running{$pid} if $? != 0;
  delete $running{$pid};
}

for my $id ($job->{start} .. $job->{end}) {
  reap() while $max_jobs_run && keys(%running) >= $max_jobs_run;
  $running{ start_job($id) } = $id;
}
reap() while %running;
exit report_failures("run.pl", $job, @failed);
