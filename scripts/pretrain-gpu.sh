#!/usr/bin/env bash
# Issue 12 on one lent GPU: two `ttune pretrain` runs of the built-in shape side by side on one
# device, from the shipped backbone, on the prepared data of a CPU run folder.
#
# Here (CPU):  python scripts/gpu_pack.py pack runs/campaign .gpu/prepared.tar.xz
# There:       OUT=<folder> bash scripts/pretrain-gpu.sh        (the device tool carries .gpu)
# Back here:   cat OUT/backbone-a.tar.* | tar -x -C runs/gpu-a   (the same for b)
#
# Runs a and b differ only in the objective shares: a keeps the defaults (span 0.30, prefix 0.15,
# summarize 0.20, generate 0.10, translate 0.15, assert 0.10); b gives the supervised tasks more
# (span 0.20, prefix 0.10, summarize 0.25, generate 0.10, translate 0.20, assert 0.15).
# A 40-step calibration of both, side by side, measures the step time; each run's --max-steps is
# then what fits TRAIN_S seconds, so its cosine schedule ends when its time does. Attention is
# T5's eager path: with torch 2.11's fused (sdpa) kernels both runs' bf16 gradients became
# non-finite at step 55 (first try, 2026-11-30; docs/pretrain.md, "On a GPU").
set -uo pipefail
OUT=${OUT:-/tmp/gpu-out}
TRAIN_S=${TRAIN_S:-450}
PY=${PY:-python3}
ROOT=runs/gpu
export PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$ROOT"
exec > >(tee -a "$OUT/driver.log") 2>&1
t0=$(date +%s)
say() { echo "[$(($(date +%s) - t0)) s] $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', \
transformers.__version__, 'cuda', torch.cuda.is_available())"
$PY scripts/gpu_pack.py unpack .gpu/prepared.tar.xz $ROOT/prepared || exit 1
say "unpacked"
common=(--init-from ttune/models/ttune-tiny --device "${DEVICE:-cuda}" --threads 4 --batch-size "${BATCH:-256}"
  --lr 0.002 --warmup-steps 200 --save-dtype float16 --no-progress --log-every 10 --attention eager
  --keep-checkpoints 1)
shares_a=()
shares_b=(--prefix-share 0.10 --summarize-share 0.25 --generate-share 0.10
  --translate-share 0.20 --assert-share 0.15)
pre() { $PY -m ttune.cli.main pretrain "$@"; }
for v in cal-a cal-b run-a run-b; do cp -r $ROOT/prepared $ROOT/$v; done
pre --output $ROOT/cal-a "${common[@]}" "${shares_a[@]}" --max-steps 40 --distinct-sample 0 \
  --checkpoint-every 1000 > $ROOT/cal-a.out 2>&1 &
pa=$!
pre --output $ROOT/cal-b "${common[@]}" "${shares_b[@]}" --max-steps 40 --distinct-sample 0 \
  --checkpoint-every 1000 > $ROOT/cal-b.out 2>&1 &
pb=$!
wait $pa $pb  # by pid: a bare wait would also wait for the tee of the log
tail -n 3 $ROOT/cal-*.out
steps() {  # steps that fit TRAIN_S from the calibration log's steps 10..40
  $PY - "$1" "$TRAIN_S" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
t = {r["step"]: r["elapsed_s"] for r in rows if "elapsed_s" in r}
per = (t[40] - t[10]) / 30
cap = 8000  # about 8 passes over the summarize pairs at batch 256: more would mostly repeat
print(min(cap, max(300, int(0.92 * float(sys.argv[2]) / per))), f"{per:.4f}")
PY
}
read -r na sa < <(steps $ROOT/cal-a/log.jsonl) || exit 1
read -r nb sb < <(steps $ROOT/cal-b/log.jsonl) || exit 1
say "calibrated: a $sa s/step -> $na steps; b $sb s/step -> $nb steps"
cap=$(awk "BEGIN{print ($TRAIN_S + 45) / 60}")
pre --output $ROOT/run-a "${common[@]}" "${shares_a[@]}" --max-steps "$na" --max-minutes "$cap" \
  --checkpoint-every $((na / 4)) > $ROOT/run-a.out 2>&1 &
pa=$!
pre --output $ROOT/run-b "${common[@]}" "${shares_b[@]}" --max-steps "$nb" --max-minutes "$cap" \
  --checkpoint-every $((nb / 4)) > $ROOT/run-b.out 2>&1 &
pb=$!
wait $pa $pb
say "trained"
tail -n 4 $ROOT/run-*.out
grep -h '"event": "eval"' $ROOT/run-a/log.jsonl | tail -n 1
grep -h '"event": "eval"' $ROOT/run-b/log.jsonl | tail -n 1
for v in a b; do
  if [ -f $ROOT/run-$v/backbone/model.safetensors ]; then
    tar -cf "$OUT/backbone-$v.tar" -C $ROOT/run-$v backbone
    split -b 15m "$OUT/backbone-$v.tar" "$OUT/backbone-$v.tar." && rm "$OUT/backbone-$v.tar"
  fi
done
tar -czf "$OUT/logs.tgz" $ROOT/*.out $ROOT/*/log.jsonl $ROOT/*/pretrain_config.json
say "done"; ls -la "$OUT"
