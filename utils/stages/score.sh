#!/usr/bin/env bash
# Recipe stage 7: score every trial list with every system by cosine, cosine + AS-Norm, and PLDA and
# PLDA + AS-Norm (when the system has a PLDA back-end, see backend.sh) into <exp>/scores/<trials-name>.
# {cosine,cosine_asnorm,plda,plda_asnorm}, and write one results.tsv row per trial list x back-end
# (compute_metrics --trials-name). AS-Norm's cohort is <exp>/backend/cohort.scp, scored by the same
# back-end as the trials (score.bin.norm --scoring), top backend.top_n of the config (default 300).
# Each trial list has its test set: --test-set, or the list's own `@set` (several test sets in one call,
# e.g. a clean and a corrupted copy of the same test set, so that results.tsv holds every list).
# Enrollment (--enroll-kind):
#   spk  the trials' enroll ids are speakers of --enroll-set: its spk_xvector.scp (speaker means) and
#        <data>/<enroll-set>/spk2utt (the utterance count PLDA needs), as in mini and CN-Celeb;
#   utt  utterance-vs-utterance trials (VoxCeleb Vox1-O/E/H): the enroll ids are utterances of
#        --enroll-set (usually the test set itself), scored from its xvector.scp.
# <exp>/results.tsv is removed first and complete only when every list is scored (the done marker).
# Run from a recipe dir with path.sh sourced.
set -euo pipefail

data=data
enroll_kind=spk
enroll_set=enroll
test_set="test"
trials="test=data/test/trials"

help_message="Usage: $0 [options] <exp-dir>...
 e.g.: $0 --enroll-kind spk --enroll-set enroll --test-set test --trials test=data/test/trials exp/resnet_mini
       $0 --enroll-set enroll \\
          --trials \"test=data/test/trials test_corrupt=data/test_corrupt/trials@test_corrupt\" exp/ecapa_mini
       $0 --enroll-kind utt --enroll-set vox1 --test-set vox1 \\
          --trials \"vox1_O=data/vox1/trials/vox1_O vox1_H=data/vox1/trials/vox1_H\" exp/resnet34se
Options:
  --data <dir>              # data dirs, for <data>/<enroll-set>/spk2utt (default: $data)
  --enroll-kind <spk|utt>   # speaker enrollment or utterance trials (default: $enroll_kind)
  --enroll-set <set>        # embeddings of the enroll side (default: $enroll_set)
  --test-set <set>          # embeddings of the test side (default: $test_set)
  --trials \"<name>=<file>[@<set>]...\"  # trial lists, their names in results.tsv, and each list's test
                            # set when it is not --test-set (default: $trials)"

. "$(dirname "$0")/../parse_options.sh" || exit 1
need_args 1 - $#
# shellcheck source=../lib/stages.sh
. "$(dirname "$0")/../lib/stages.sh"
parse_trials "$trials"

for sys in "$@"; do
  sys=${sys%/}
  name=$(sys_name "$sys") e=$sys/embeddings sc=$sys/scores
  case $enroll_kind in
    spk) enroll=$e/$enroll_set/spk_xvector.scp spk2utt=(--enroll-spk2utt "$data/$enroll_set/spk2utt") ;;
    utt) enroll=$e/$enroll_set/xvector.scp spk2utt=() ;;
    *) echo "$0: --enroll-kind must be spk or utt, not '$enroll_kind'" >&2; exit 1 ;;
  esac
  for i in "${!trials_names[@]}"; do
    f=$e/${trials_sets[$i]:-$test_set}/xvector.scp
    [ -s "$f" ] || { echo "$0: no $f for trials ${trials_names[$i]} (run stage 5 with that set)" >&2; exit 1; }
  done
  for f in "$enroll" "$sys/backend/cohort.scp"; do
    [ -s "$f" ] || { echo "$0: no $f (run stages 5-6)" >&2; exit 1; }
  done
  rm -f "$sys/results.tsv" "$sys/results.tsv.tmp"    # the done marker goes first: a failure leaves none
  chain=$(plda_chain "$sys")
  top_n=$(python -m pytorch.bin.config_get --default 300 "$sys/config.yaml" backend.top_n)
  plda_name=${chain//:/}     # mean,lda:64,lnorm,plda -> mean-lda64-lnorm-plda
  rows=("cosine cosine none" "cosine_asnorm cosine asnorm$top_n")
  [ -z "$chain" ] || rows+=("plda ${plda_name//,/-} none" "plda_asnorm ${plda_name//,/-} asnorm$top_n")
  mkdir -p "$sc"
  for i in "${!trials_names[@]}"; do
    t=${trials_names[$i]} tf=${trials_files[$i]} test=$e/${trials_sets[$i]:-$test_set}/xvector.scp
    rm -f "$sc/$t".{cosine,cosine_asnorm,plda,plda_asnorm}
    python -m score.bin.score --method cosine --backend-dir "$sys/backend/cosine" \
      --enroll "$enroll" --test "$test" --trials "$tf" --out "$sc/$t.cosine"
    python -m score.bin.norm --method asnorm --top-n "$top_n" --cohort "$sys/backend/cohort.scp" \
      --backend-dir "$sys/backend/cosine" --enroll "$enroll" --test "$test" \
      --scores "$sc/$t.cosine" --out "$sc/$t.cosine_asnorm"
    if [ -n "$chain" ]; then
      python -m score.bin.score --method plda --backend-dir "$sys/backend/plda" "${spk2utt[@]}" \
        --enroll "$enroll" --test "$test" --trials "$tf" --out "$sc/$t.plda"
      python -m score.bin.norm --method asnorm --scoring plda --top-n "$top_n" --cohort "$sys/backend/cohort.scp" \
        --backend-dir "$sys/backend/plda" "${spk2utt[@]}" --enroll "$enroll" --test "$test" \
        --scores "$sc/$t.plda" --out "$sc/$t.plda_asnorm"
    fi
    for s in "${rows[@]}"; do
      read -r method backend norm <<< "$s"
      python -m score.bin.compute_metrics --trials "$tf" --scores "$sc/$t.$method" \
        --results "$sys/results.tsv.tmp" --system "$name" --backend "$backend" --norm "$norm" \
        --trials-name "$t" | sed "s/^/$name $t $method: /"
    done
  done
  mv "$sys/results.tsv.tmp" "$sys/results.tsv"
done
