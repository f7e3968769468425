#!/usr/bin/env bash
# Spoofing-aware speaker verification (SASV 2022): speaker-verification (ASV) systems trained elsewhere
# (egs/voxceleb, or egs/mini for the mini mode) and a spoofing countermeasure (AASIST, trained here or
# the official pretrained weights) are combined on SASV trials (target / bona fide nontarget / spoof):
# ASV alone, score fusions (B1, B1-v2, a calibrated logistic regression, an LLR combination, a cascade)
# and the embedding-level DNN (B2, with raw and with length-normalised embeddings). exp/RESULTS.md holds
# DEV and EVAL SASV/SV/SPF-EER per system and the CM's EER and min t-DCF.
# Two modes:
#   --la-root <LA/>: ASVspoof 2019 LA (local/asvspoof2019); the ASV systems come from --asv-dir
#     (default ../voxceleb) as <exp name>:<feature config name> pairs (--asv-systems).
#   no --la-root (the default, the mini mode): the synthetic corpus of a finished egs/mini run
#     (--mini-dir, default ../mini): its data/spoof_*, data/sasv_*/trials, data/enroll, and its ASV
#     systems exp/resnet_mini and exp/ecapa_mini; a small AASIST is trained on CPU in minutes.
# Every stage skips finished work where it can (data/.prepared, feats.scp, xvector.scp, CM scores,
# checkpoints); stages 6-9 always recompute (seconds).
. ./path.sh; . ./cmd.sh

la_root=${LA_ROOT:-}            # the LA/ folder of LA.zip; empty: the mini mode
mini_dir=../mini                # mini mode: a finished egs/mini run
asv_dir=                        # recipe dir of the ASV systems (default: $mini_dir, or ../voxceleb with --la-root)
asv_systems="resnet_mini:fbank40 ecapa_mini:fbank"   # <exp name in $asv_dir/exp>:<$asv_dir/conf/<name>.yaml features>
asv_checkpoint=avg
cm_config=conf/aasist_mini.yaml # CM training config (stage 3); conf/aasist.yaml is the official AASIST set-up
cm_pretrained=                  # dir with <cm_name>.conf and .pth (e.g. the official AASIST): no training
cm_name=AASIST                  # AASIST or AASIST-L (with --cm-pretrained)
cm_device=cpu                   # CM scoring device (cpu, cuda)
b2_config=conf/b2.yaml
nj=2
train_threads=2                 # torch threads of the CM training
stage=0
stop_stage=100

help_message="Usage: $0 [options]
Stages (--stage N --stop-stage M):
  0  data: LA (local/asvspoof2019/prepare_data.sh \$la_root), or the mini run's data/spoof_*, sasv_*
     trials and their enrollment speakers; data/sasv_{dev,eval}_enroll
  1  fbank of every set for each ASV system, with its recipe's feature config: data/<features>/<set>
  3  train the CM (pytorch.bin.train_cm \$cm_config), or use \$cm_pretrained/\$cm_name.{conf,pth}
  5  ASV embeddings of every set (exp/asv_<sys>/embeddings/<set>); CM scores (bona fide logit; .logit_diff:
     softmax log-odds for B1-v2) and embeddings of spoof_{train,dev,eval} (pytorch.bin.score_cm)
  6  train B2 per ASV system, without and with L2-normalised embeddings (exp/b2_<sys>_{nonorm,l2norm})
  7  scores on the SASV trials: ASV cosine, B2; CM metrics (EER, per attack, min t-DCF) exp/sasv/cm_{dev,eval}.json;
     the min t-DCF's ASV part: the organisers' ASV scores (LA/ASVspoof2019_LA_asv_scores) if present, else the
     first ASV system's cosine
  8  score fusions per ASV system: b1, b1v2, calibrated, llr, cascade (score.bin.sasv_fuse)
  9  exp/RESULTS.md (score.bin.sasv_table)
Options:
  --stage <n> --stop-stage <n>     # default: $stage $stop_stage
  --la-root <dir>                  # ASVspoof 2019 LA/ (default: the mini mode)
  --mini-dir <dir>                 # mini mode: the egs/mini run (default: $mini_dir)
  --asv-dir <dir> --asv-systems \"<exp>:<feats> ...\"   # ASV systems (default: $asv_systems)
  --cm-config <yaml> | --cm-pretrained <dir> [--cm-name AASIST|AASIST-L]
  --nj <n>                         # parallel jobs (default: $nj)"

. utils/parse_options.sh
set -euo pipefail
. utils/lib/recipe.sh    # up_to_date <output> <input>...

if [ -z "$asv_dir" ]; then
  if [ -n "$la_root" ]; then asv_dir=../voxceleb; else asv_dir=$mini_dir; fi
fi
if [ -n "$cm_pretrained" ]; then
  cm_exp=exp/$cm_name cm_conf=$cm_pretrained/$cm_name.conf cm_ckpt=$cm_pretrained/$cm_name.pth
else
  cm_exp=exp/$(basename "$cm_config" .yaml)
  cm_conf=$cm_exp/config.yaml cm_ckpt=$cm_exp/models/best.pt
fi
sets="spoof_train spoof_dev spoof_eval sasv_dev_enroll sasv_eval_enroll"
systems=() feats=()
for s in $asv_systems; do
  [[ "$s" == *:* ]] || { echo "$0: --asv-systems entry '$s': expected <exp name>:<feature config name>" >&2; exit 1; }
  systems+=("${s%%:*}") feats+=("${s#*:}")
done

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -n "$la_root" ]; then
    if ! up_to_date data/.prepared "$la_root"; then
      rm -f data/.prepared
      local/prepare_data.sh "$la_root" data
      touch data/.prepared
    fi
  elif ! up_to_date data/.prepared "$mini_dir/data/.prepared"; then
    [ -f "$mini_dir/data/.prepared" ] || { echo "$0: $mini_dir is not a finished egs/mini run (no data/.prepared); run it first, or give --la-root" >&2; exit 1; }
    rm -f data/.prepared
    for set in spoof_train spoof_dev spoof_eval; do
      rm -rf "data/$set"
      utils/copy_data_dir.sh "$mini_dir/data/$set" "data/$set"
    done
    for part in dev eval; do
      # the mini corpus enrolls every eval speaker in data/enroll; each SASV list uses half of them
      rm -rf "data/sasv_$part" "data/sasv_${part}_enroll"
      mkdir -p "data/sasv_$part"
      cp "$mini_dir/data/sasv_$part/trials" "data/sasv_$part/trials"
      cut -d' ' -f1 "data/sasv_$part/trials" | sort -u > "data/sasv_$part/enroll_speakers"
      utils/subset_data_dir.sh --spk-list "data/sasv_$part/enroll_speakers" "$mini_dir/data/enroll" \
        "data/sasv_${part}_enroll"
    done
    touch data/.prepared
  fi
  echo "stage 0: data/{spoof_train,spoof_dev,spoof_eval,sasv_dev,sasv_eval,sasv_dev_enroll,sasv_eval_enroll}"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  for i in "${!systems[@]}"; do
    f=${feats[$i]}
    for set in $sets; do
      up_to_date "data/$f/$set/feats.scp" data/.prepared && continue
      rm -rf "data/$f/$set"
      utils/copy_data_dir.sh "data/$set" "data/$f/$set"
      utils/make_fbank.sh --nj "$nj" --cmd "$train_cmd" --fbank-config "$asv_dir/conf/$f.yaml" \
        "data/$f/$set" "exp/make_$f/$set" "$f"
    done
  done
  echo "stage 1: features data/<features>/<set> for: ${feats[*]}"
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  if [ -n "$cm_pretrained" ]; then
    for f in "$cm_conf" "$cm_ckpt"; do [ -f "$f" ] || { echo "$0: $f not found (--cm-pretrained)" >&2; exit 1; }; done
    echo "stage 3: pretrained CM $cm_ckpt"
  else
    # resumes from the last epoch; a finished training returns at once
    mkdir -p "$cm_exp/log"
    OMP_NUM_THREADS=$train_threads $train_cmd "$cm_exp/log/train_job.log" \
      python -m pytorch.bin.train_cm --config "$cm_config" --exp "$cm_exp"
    echo "stage 3: CM $cm_exp: $(grep -o 'best dev CM EER.*' "$cm_exp/log/train.log" | tail -1)"
  fi
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  for i in "${!systems[@]}"; do
    sys=${systems[$i]} f=${feats[$i]}
    for set in $sets; do
      out=exp/asv_$sys/embeddings/$set
      up_to_date "$out/xvector.scp" "$asv_dir/exp/$sys/models/$asv_checkpoint.pt" "data/$f/$set/feats.scp" && continue
      utils/extract_embeddings.sh --nj "$nj" --cmd "$cmd" --checkpoint "$asv_checkpoint" \
        "$asv_dir/exp/$sys" "data/$f/$set" "$out"
    done
  done
  # the three sets side by side, one thread each; the score file is written last: it marks a set done
  pids=()
  mkdir -p "$cm_exp/log"
  for set in spoof_train spoof_dev spoof_eval; do
    up_to_date "$cm_exp/scores/$set" "$cm_ckpt" "data/$set/wav.scp" && [ -f "$cm_exp/scores/$set.logit_diff" ] && continue
    rm -f "$cm_exp/scores/$set" "$cm_exp/scores/$set.logit_diff"
    $cmd "$cm_exp/log/score_cm.$set.log" python -m pytorch.bin.score_cm --model-conf "$cm_conf" \
      --checkpoint "$cm_ckpt" --wav-scp "data/$set/wav.scp" --out "$cm_exp/scores/$set" \
      --logit-diff "$cm_exp/scores/$set.logit_diff" \
      --embeddings "$cm_exp/embeddings/$set/xvector.ark" --device "$cm_device" --num-threads 1 &
    pids+=($!)
  done
  failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ $failed -eq 0 ] || { echo "$0: CM scoring failed; see $cm_exp/log/score_cm.*.log" >&2; exit 1; }
  echo "stage 5: ASV embeddings exp/asv_<sys>/embeddings/<set>, CM scores $cm_exp/scores/<set>"
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  cm_emb=$cm_exp/embeddings
  for sys in "${systems[@]}"; do
    e=exp/asv_$sys/embeddings
    for norm in nonorm l2norm; do
      b2=exp/b2_${sys}_$norm
      l2=false; [ $norm = nonorm ] || l2=true
      rm -rf "$b2"
      mkdir -p "$b2/log"
      $cmd "$b2/log/train.log" python -m pytorch.bin.train_sasv_dnn --config "$b2_config" --exp "$b2" \
        --set "model.l2norm=$l2" --data data/spoof_train --asv "$e/spoof_train/xvector.scp" \
        --cm "$cm_emb/spoof_train/xvector.scp" --dev-trials data/sasv_dev/trials \
        --dev-enroll "$e/sasv_dev_enroll/spk_xvector.scp" --dev-asv "$e/spoof_dev/xvector.scp" \
        --dev-cm "$cm_emb/spoof_dev/xvector.scp"
      echo "stage 6: $b2: $(grep -o 'kept epoch.*' "$b2/log/train.log" | tail -1)"
    done
  done
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  rm -f exp/sasv/cm_dev.json exp/sasv/cm_eval.json
  for sys in "${systems[@]}"; do
    e=exp/asv_$sys/embeddings sc=exp/sasv/$sys/scores
    mkdir -p "$sc"
    for part in dev eval; do
      python -m score.bin.score --method cosine --enroll "$e/sasv_${part}_enroll/spk_xvector.scp" \
        --test "$e/spoof_$part/xvector.scp" --trials "data/sasv_$part/trials" --out "$sc/$part.asv"
      for norm in nonorm l2norm; do
        python -m pytorch.bin.score_sasv_dnn --exp "exp/b2_${sys}_$norm" --trials "data/sasv_$part/trials" \
          --enroll "$e/sasv_${part}_enroll/spk_xvector.scp" --test "$e/spoof_$part/xvector.scp" \
          --cm "$cm_exp/embeddings/spoof_$part/xvector.scp" --out "$sc/$part.b2_$norm"
      done
    done
  done
  # min t-DCF: the ASV part is the organisers' ASV scores of the part where LA.zip has them (the official
  # evaluation), otherwise the first ASV system's cosine scores on the SASV trials
  for part in dev eval; do
    asv=(--asv-trials "data/sasv_$part/trials" --asv-scores "exp/sasv/${systems[0]}/scores/$part.asv")
    if [ -n "$la_root" ]; then
      for f in {"$la_root","$la_root/LA"}/ASVspoof2019_LA_asv_scores/ASVspoof2019.LA.asv.$part.gi.trl.scores.txt; do
        [ ! -f "$f" ] || { asv=(--asv-scores "$f"); break; }
      done
    fi
    echo "stage 7: min t-DCF of $part with the ASV scores ${asv[-1]}"
    python -m score.bin.cm_metrics --scores "$cm_exp/scores/spoof_$part" --utt2attack "data/spoof_$part/utt2attack" \
      "${asv[@]}" --json true > "exp/sasv/cm_$part.json.tmp"
    mv "exp/sasv/cm_$part.json.tmp" "exp/sasv/cm_$part.json"
  done
  echo "stage 7: exp/sasv/<sys>/scores/{dev,eval}.{asv,b2_nonorm,b2_l2norm}, exp/sasv/cm_{dev,eval}.json"
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  for sys in "${systems[@]}"; do
    sc=exp/sasv/$sys/scores
    dev=(--dev-trials data/sasv_dev/trials --dev-asv-scores "$sc/dev.asv" --dev-cm-scores "$cm_exp/scores/spoof_dev")
    for method in b1 b1v2 calibrated llr cascade; do
      # calibrated, llr and cascade are trained on the dev trials: their DEV columns are not held out
      opts=(); [[ $method == b1* ]] || opts=("${dev[@]}")
      # B1-v2 takes the softmax's bona fide posterior: sigmoid of the logit difference (score_cm --logit-diff)
      cm=""; [ $method != b1v2 ] || cm=.logit_diff
      for part in dev eval; do
        python -m score.bin.sasv_fuse --method $method --asv-scores "$sc/$part.asv" \
          --cm-scores "$cm_exp/scores/spoof_$part$cm" "${opts[@]}" --out "$sc/$part.$method"
      done
    done
  done
  echo "stage 8: exp/sasv/<sys>/scores/{dev,eval}.{b1,b1v2,calibrated,llr,cascade}"
fi

if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ]; then
  rows=()
  for sys in "${systems[@]}"; do
    sc=exp/sasv/$sys/scores
    for m in "asv:ASV only" "b1:B1 (ASV + CM score)" "b1v2:B1-v2 (ASV + softmax CM)" \
             "b2_nonorm:B2 (embedding DNN, no norm)" "b2_l2norm:B2 (embedding DNN, L2 norm)" \
             "calibrated:calibrated (LR on dev)" "llr:LLR of calibrated ASV and CM" "cascade:cascade (CM gate, then ASV)"; do
      rows+=(--system "$sys: ${m#*:}=$sc/dev.${m%%:*},$sc/eval.${m%%:*}")
    done
  done
  rm -f exp/RESULTS.md
  python -m score.bin.sasv_table --title "egs/sasv: $(if [ -n "$la_root" ]; then echo "ASVspoof 2019 LA"; else echo "mini ($mini_dir)"; fi)" \
    --dev-trials data/sasv_dev/trials --eval-trials data/sasv_eval/trials "${rows[@]}" \
    --cm "$(basename "$cm_exp")=exp/sasv/cm_dev.json,exp/sasv/cm_eval.json" > exp/RESULTS.md.tmp
  mv exp/RESULTS.md.tmp exp/RESULTS.md
  cat exp/RESULTS.md
fi
