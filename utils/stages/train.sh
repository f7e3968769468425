#!/usr/bin/env bash
# Recipe stage 3: train one system per config into exp/<config stem>. On CPU (--gpus 0) the systems
# train side by side, one job each (on a small machine two 1-thread trainings finish sooner than two
# 2-thread ones in a row); with --gpus 1 one after another; with --gpus N > 1 each through
# `torchrun --nproc_per_node N` (DDP). pytorch.bin.train resumes from the last epoch (a finished
# run returns at once) and refuses a changed config rather than mixing it into the old exp dir.
# Run from a recipe dir with path.sh sourced.
set -euo pipefail

cmd=run.pl
gpus=0
threads=1
exp=exp
train_set=
train_opts=

help_message="Usage: $0 [options] <config.yaml>...
 e.g.: $0 --cmd run.pl --threads 1 conf/resnet_mini.yaml conf/ecapa_mini.yaml
       $0 --gpus 4 --cmd \"\$cuda_cmd\" conf/ecapa_c512.yaml
Options:
  --cmd <run.pl|slurm.pl ...>   # how to run each training job (default: $cmd)
  --gpus <n>                    # 0: CPU, systems in parallel; 1: one GPU; n > 1: torchrun DDP (default: $gpus)
  --threads <n>                 # torch threads per job (OMP_NUM_THREADS; default: $threads)
  --exp <dir>                   # systems go in <dir>/<config stem> (default: $exp)
  --train-set <set>             # train on <set> instead of the config's: data.train's last component is
                                # replaced (data/fbank81/vox2_dev -> data/fbank81/<set>), via --set
  --train-opts \"<opts>\"          # more pytorch.bin.train options for every system, e.g.
                                # \"--set train.init.checkpoint=exp/base/models/avg.pt\" (split on spaces)"

. "$(dirname "$0")/../parse_options.sh" || exit 1
need_args 1 - $#

launch=(python -m pytorch.bin.train)
[ "$gpus" -le 1 ] || launch=(torchrun --standalone --nproc_per_node "$gpus" -m pytorch.bin.train)
pids=() failed=0
for conf in "$@"; do
  [ -f "$conf" ] || { echo "$0: no such config $conf" >&2; exit 1; }
  sys=$exp/$(basename "$conf" .yaml)
  opts=()
  if [ -n "$train_set" ]; then
    opts=(--set "data.train=$(dirname "$(python -m pytorch.bin.config_get "$conf" data.train)")/$train_set")
  fi
  # shellcheck disable=SC2206   # $train_opts is a list of options
  opts+=($train_opts)
  mkdir -p "$sys/log"
  echo "stage 3: training $sys with $conf (log: $sys/log/train.log)"
  # $cmd is a command with options (e.g. "slurm.pl --gpu 1"): split on purpose.
  # shellcheck disable=SC2086
  if [ "$gpus" -eq 0 ]; then
    OMP_NUM_THREADS=$threads $cmd "$sys/log/train_job.log" "${launch[@]}" --config "$conf" --exp "$sys" "${opts[@]}" &
    pids+=($!)
  else
    OMP_NUM_THREADS=$threads $cmd "$sys/log/train_job.log" "${launch[@]}" --config "$conf" --exp "$sys" "${opts[@]}" || failed=1
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ $failed -eq 0 ] || { echo "$0: training failed; see $exp/*/log/train_job.log" >&2; exit 1; }
