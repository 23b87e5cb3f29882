#!/usr/bin/env bash
# The comparisons behind docs/results/: every method on the built-in backbone (ttune-tiny), same data,
# budget and greedy decoding, two seeds; then the reports are copied into docs/results/<task>/.
# Needs the cleaned data of scripts/build-builtin-models.sh step 1 (BUILD = runs/builtin).
# Each compare resumes when run again.
# Cost on the 2-core CPU machine: a transducer step on ttune-tiny (batch 16, 1 thread) took 2.0-2.8 s, so
# one run of 300 steps is 10-14 min plus its evaluation, and the full default (9 methods x 2 seeds x
# 3 tasks) about 11 hours: run one task at a time (its argument), or on a GPU.
#
#   scripts/run-comparisons.sh [summarize|assert|translate ...]   # default: all three
set -euo pipefail
cd "$(dirname "$0")/.."
W=${TTUNE_BUILD_DIR:-runs/builtin}
TTUNE=${TTUNE:-.venv/bin/ttune}
METHODS=${METHODS:-transducer,lora,prefix,prompt,linear,full,none,transducer-paper,transducer-nograph}
COMMON=(--model ttune-tiny --methods "$METHODS" --seeds 18,99 --max-steps 300 --batch-size 16
        --lr 3e-3 --method-lr full=3e-4 --method-lr lora=1e-3 --eval-every 100 --test-limit 300)

run() {  # TASK DATA NAME
    "$TTUNE" compare --task "$1" --train "$W/data/$2/clean/train.jsonl" --valid "$W/data/$2/clean/dev.jsonl" \
        --test "$W/data/$2/clean/test.jsonl" --output "runs/compare/$3" "${COMMON[@]}"
    mkdir -p "docs/results/$3"
    for f in report.md results.csv results.json score_vs_params.png validation_curves.png; do
        [ -f "runs/compare/$3/$f" ] && cp "runs/compare/$3/$f" "docs/results/$3/$f"
    done
}
tasks=("$@")
[ ${#tasks[@]} -eq 0 ] && tasks=(summarize assert translate)
for t in "${tasks[@]}"; do
    case $t in
        summarize) run summarize tlcodesum summarize-tlcodesum ;;
        assert) run assert atlas assert-atlas ;;
        translate) run translate codexglue translate-codexglue ;;
        *) echo "unknown task $t (summarize, assert, translate)" >&2; exit 1 ;;
    esac
done
