# shellcheck shell=bash
# How jobs run: run.pl runs them on this machine (up to --max-jobs-run at a time).
export train_cmd="run.pl"
export cmd="run.pl"
# On a Slurm cluster (utils/slurm.pl submits each job through sbatch/srun), e.g.:
# export train_cmd="slurm.pl --mem 4G"
# export cmd="slurm.pl --mem 2G"
# and for GPU training: export cuda_cmd="slurm.pl --gpu 1 --mem 16G"
