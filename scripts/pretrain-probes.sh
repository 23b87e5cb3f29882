#!/usr/bin/env bash
# Short pretraining probes, one variable at a time, run one after another on ONE thread so that
# development can go on on the other core. Each probe is an ordinary resumable `ttune pretrain`
# run folder under $ROOT (default runs/probes); rerunning the script resumes or skips finished ones.
# Probes are compared at equal optimizer steps (equal corpus tokens); per-step time is logged too.
# Summary: python scripts/probe_summary.py runs/probes
# The committed probes (docs/results/pretrain-probes.md) ran the pretraining code of commit 65f49f3
# (its --docstring-share): git archive 65f49f3 ttune | tar -x -C /tmp/probe-code, then
# TTUNE="env PYTHONPATH=/tmp/probe-code .venv/bin/python -P -m ttune.cli.main" scripts/pretrain-probes.sh
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="${ROOT:-runs/probes}"
STEPS="${STEPS:-300}"
TTUNE="${TTUNE:-.venv/bin/ttune}"  # e.g. "env PYTHONPATH=/frozen/copy .venv/bin/python -m ttune.cli.main"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$ROOT"
common=(--max-steps "$STEPS" --warmup-steps 30 --checkpoint-every 100 --log-every 10 --threads 1
        --no-progress --save-dtype float16)

probe() {  # name, extra options...
  local name="$1"; shift
  local dir="$ROOT/$name"
  if [[ -d "$dir/backbone" ]]; then echo "== $name: done"; return; fi
  mkdir -p "$dir"
  # Same corpus options as the base probe: reuse its corpus, tokenizer and pairs.
  if [[ "$name" != base && -f "$ROOT/base/corpus.json" && " $* " != *" --vocab-size "* ]]; then
    for f in corpus.json corpus_tokens.safetensors pairs.json pairs_tokens.safetensors tokenizer; do
      [[ -e "$dir/$f" || ! -e "$ROOT/base/$f" ]] || cp -r "$ROOT/base/$f" "$dir/$f"
    done
  fi
  echo "== $name: $* ($(date -u +%H:%M))"
  $TTUNE pretrain --output "$dir" "${common[@]}" "$@" >>"$dir/stdout.log" 2>&1
  echo "== $name: exit $? ($(date -u +%H:%M))"
}

probe base --precision bf16
probe deep-narrow --precision bf16 --d-model 192 --d-ff 768 --layers 7 --heads 4
probe docstring-half --precision bf16 --docstring-share 0.5 --prefix-share 0.15
probe vocab16k --precision bf16 --vocab-size 16000
probe fp32 --precision fp32
probe wide-shallow --precision bf16 --d-model 320 --d-ff 1280 --layers 3 --heads 5
probe vocab8k --precision bf16 --vocab-size 8000
