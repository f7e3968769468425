#!/usr/bin/env bash
# A one-node Slurm cluster on this machine for tests/cluster/test_slurm_real.py: munged, one
# slurmctld and one slurmd on localhost, all state, logs and slurm.conf under <state-dir> (default
# /tmp/asvlab-slurm), so /etc is not touched (but for munge's key). Needs root (slurmd runs jobs,
# munged runs as user munge) and Debian's Slurm and munge packages: `--install true` installs
# slurmctld, slurmd, slurm-client and munge with apt-get (what this needs of slurm-wlm, without its
# plugin set). No systemd: the daemons are started directly. Idempotent: when the cluster already
# answers with this config it returns at once; otherwise the daemons it started before are stopped
# and started again. Clients find the cluster through SLURM_CONF=<state-dir>/slurm.conf (printed).
#   tests/cluster/start_slurm.sh [--install true|false] [--stop true|false] [<state-dir>]
set -euo pipefail

install=false
stop=false
while [ $# -gt 0 ]; do
  case $1 in
    --install) install=$2; shift 2 ;;
    --stop) stop=$2; shift 2 ;;
    -*) echo "$0: unknown option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done
state=${1:-/tmp/asvlab-slurm}
conf=$state/slurm.conf

die() { echo "$0: $*" >&2; exit 1; }

stop_daemons() {
  local f pid
  for f in "$state"/slurmd.pid "$state"/slurmctld.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    # Only the daemon this script started (its pid file), and only if that pid is still that program.
    if [ -n "$pid" ] && grep -qs slurm "/proc/$pid/comm"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$f"
  done
}

if [ "$stop" = true ]; then
  stop_daemons
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "needs root (slurmd starts jobs as their user; munged runs as user munge)"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  [ "$install" = true ] || die "Slurm and munge are not installed; apt-get install slurmctld slurmd \
slurm-client munge (or slurm-wlm munge), or pass --install true"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
fi

# munge: Slurm's authentication. The package makes the key; start the daemon unless one answers.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key
  chmod 600 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 755 /run/munge
  setpriv --reuid munge --regid munge --init-groups /usr/sbin/munged
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || die "munged did not start; see /var/log/munge/munged.log"
fi

host=$(hostname -s)
ncpu=$(nproc)
mem=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
mkdir -p "$state/ctld" "$state/spool"
new=$(cat <<EOF
# Written by tests/cluster/start_slurm.sh: a one-node test cluster.
ClusterName=asvlab
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
# No cgroups and no accounting daemon: they need systemd / a database this machine lacks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
# Per-core allocation, so several one-CPU jobs share the node; memory is not enforced.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
# Fast turnaround for tests: jobs leave the controller soon after they end, time-outs are killed
# without a long grace period.
MinJobAge=10
KillWait=2
InactiveLimit=0
# At least 4 CPUs even on a 2-core machine, so the tests' tiny jobs run side by side.
SlurmdParameters=config_overrides
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(( ncpu < 4 ? 4 : ncpu )) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
)

export SLURM_CONF=$conf
up() {
  scontrol ping 2>/dev/null | grep -q "is UP" &&
    sinfo -h -n "$host" -o %t 2>/dev/null | grep -Eq '^(idle|mix|alloc)'
}
if [ -f "$conf" ] && [ "$(cat "$conf")" = "$new" ] && up; then
  echo "export SLURM_CONF=$conf"
  exit 0
fi
stop_daemons
printf '%s\n' "$new" > "$conf.tmp"
mv "$conf.tmp" "$conf"
# -c: a clean start (no jobs from an earlier cluster); the daemons fork into the background.
slurmctld -c || die "slurmctld did not start; see $state/slurmctld.log"
slurmd -c || die "slurmd did not start; see $state/slurmd.log"
for _ in $(seq 100); do up && break; sleep 0.2; done
up || die "the node did not come up within 20 s; see $state/slurmctld.log and $state/slurmd.log"
echo "export SLURM_CONF=$conf"
