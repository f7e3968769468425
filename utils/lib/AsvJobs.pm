# Shared parts of run.pl and slurm.pl: the Kaldi $cmd command line, log naming, the
# log header/footer lines and the failure report.
package AsvJobs;
use strict;
use warnings;
use POSIX qw(strftime);
use Exporter qw(import);
our @EXPORT_OK = qw(parse_cmdline job_log job_cmd now shell_quote report_failures);

# parse_cmdline($prog, @ARGV) -> hashref with
#   opts (hashref: max_jobs_run, mem, gpu, num_threads, config, time ..., "--x" keys as x),
#   jobname (undef without a range), start, end, logfile, cmd (one bash command line).
sub parse_cmdline {
  my ($prog, @argv) = @_;
  my $usage = "Usage: $prog [--max-jobs-run N] [--mem X] [--gpu N] [--num-threads N] "
    . "[JOB=1:N] <log-file> <command> [args...]\n"
    . " e.g.: $prog --max-jobs-run 4 JOB=1:8 exp/log/x.JOB.log echo JOB\n";
  my %opts = (max_jobs_run => 0, gpu => 0, num_threads => 1);
  while (@argv && $argv[0] =~ m/^--?[a-zA-Z]/) {
    my $opt = shift @argv;
    my $val;
    if ($opt =~ m/^(--[^=]+)=(.*)$/) { ($opt, $val) = ($1, $2); }
    else {
      @argv or die "$prog: option $opt needs a value\n$usage";
      $val = shift @argv;
    }
    $opt = "--max-jobs-run" if $opt eq "-tc";
    (my $key = $opt) =~ s/^-+//;
    $key =~ tr/-/_/;
    if ($key eq "max_jobs_run") {
      $val =~ m/^\d+$/ && $val > 0 or die "$prog: --max-jobs-run needs a positive integer, got '$val'\n";
    } elsif ($key eq "gpu" || $key eq "num_threads") {
      $val =~ m/^\d+$/ or die "$prog: $opt needs a non-negative integer, got '$val'\n";
    }
    $opts{$key} = $val;
  }
  my ($jobname, $start, $end) = (undef, 1, 1);
  if (@argv && $argv[0] =~ m/^([A-Z][A-Z0-9_]*)=(\d+):(\d+)$/) {
    ($jobname, $start, $end) = ($1, $2, $3);
    shift @argv;
    $start <= $end or die "$prog: invalid job range $start:$end (start > end)\n";
  } elsif (@argv && $argv[0] =~ m/^([A-Z][A-Z0-9_]*)=(\d+)$/) {
    ($jobname, $start, $end) = ($1, $2, $2);
    shift @argv;
  } elsif (@argv && $argv[0] =~ m/^[A-Za-z_]+=/ && $argv[0] !~ m:/:) {
    die "$prog: bad job range '$argv[0]': expected e.g. JOB=1:4 (upper-case name)\n";
  }
  @argv >= 2 or die $usage;
  my $logfile = shift @argv;
  if (defined $jobname && $end > $start && index($logfile, $jobname) < 0) {
    die "$prog: " . ($end - $start + 1) . " parallel jobs would all write to one log file "
      . "$logfile (put $jobname in its name)\n";
  }
  # Kaldi's quoting rule: raw when there is no whitespace (so a separate '|' is a pipe),
  # otherwise one shell word. A lone command argument is a whole shell command line.
  my $cmd = @argv == 1 ? $argv[0]
    : join(" ", map { m/^\S+$/ ? $_ : shell_quote($_) } @argv);
  return { opts => \%opts, jobname => $jobname, start => $start, end => $end,
           logfile => $logfile, cmd => $cmd };
}

sub job_log { my ($job, $id) = @_; return _subst($job->{logfile}, $job->{jobname}, $id); }
sub job_cmd { my ($job, $id) = @_; return _subst($job->{cmd}, $job->{jobname}, $id); }

sub _subst {
  my ($s, $name, $id) = @_;
  $s =~ s/$name/$id/g if defined $name;
  return $s;
}

sub now { return strftime("%a %b %e %H:%M:%S %Z %Y", localtime); }

sub shell_quote { (my $s = $_[0]) =~ s/'/'\\''/g; return "'$s'"; }

# Prints the Kaldi-style failure lines to STDERR; returns the exit status for the tool.
sub report_failures {
  my ($prog, $job, @failed) = @_;
  return 0 unless @failed;
  @failed = sort { $a <=> $b } @failed;
  my $n = $job->{end} - $job->{start} + 1;
  my @logs = map { job_log($job, $_) } @failed;
  if ($n == 1) {
    print STDERR "$prog: job failed, log is in $logs[0]\n";
  } else {
    (my $pattern = $job->{logfile}) =~ s/$job->{jobname}/*/g;
    my @shown = @logs > 20 ? (@logs[0 .. 19], "...") : @logs;
    print STDERR "$prog: " . scalar(@failed) . " / $n failed, log is in $pattern\n";
    print STDERR "$prog: failed logs: @shown\n";
  }
  return 1;
}

1;
