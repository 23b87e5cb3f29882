#!/usr/bin/env bash
# The comparisons behind docs/results/: every method on the built-in backbone (ttune-tiny), same data,
# budget and greedy decoding, seeds 18 and 99 (translate: 18); then the reports are copied into docs/results/<name>/.
# Needs the cleaned data of scripts/build-builtin-models.sh step 1 (BUILD = runs/builtin).
# Each compare resumes when run again (finished runs are skipped).
#
# Budget that fits the 2-core CPU machine: summarize took 90 min and assert about 97, each in one process
# on one core (18 runs of about 5 min; both ran side by side); translate runs took 2.6-6.3 min (most
# 5-6), and 8 of its 9 ran in about 21 min as two processes (JOBS=2). That budget:
# 100 optimizer steps of 16 on the first 3,200 training records, validation on the first 200 dev records
# every 50 steps, test on the first 200 (summarize, assert) or 100 (translate) test records; seeds 18
# and 99, translate seed 18 only.
# BUDGET=full gives the long one (all records, 300 steps, full dev, 300 test records), about 11 hours
# for the three tasks here: a GPU's job.
#
# summarize also runs the plugin methods of docs/methods.md (PLUGINS below). types: every method on
# the `types` task (one seed, like translate), data built from the annotated code of this
# checkout's .venv site-packages (types_data below).
# xprompt's stages are shortened to fit 100 steps: prompt tuning 30 steps, token and piece
# pruning rounds of 15 steps, then 40 steps of rewound training.
#
#   scripts/run-comparisons.sh [summarize|assert|translate|types ...]
#       # default: summarize, assert, translate
#   JOBS=2 scripts/run-comparisons.sh translate                    # split the methods over 2 processes
#   BUDGET=full MODEL=/path/to/codet5p-220m scripts/run-comparisons.sh   # the long one, another backbone
set -euo pipefail
cd "$(dirname "$0")/.."
W=${TTUNE_BUILD_DIR:-runs/builtin}
TTUNE=${TTUNE:-.venv/bin/ttune}
JOBS=${JOBS:-1}
METHODS=${METHODS:-transducer,lora,prefix,prompt,linear,full,none,transducer-paper,transducer-nograph}
COMMON=(--model "${MODEL:-ttune-tiny}" --batch-size 16 --lr 3e-3 --eval-every 50 --no-run-progress)
method_lrs() {  # METHODS -> the --method-lr and -m options of those methods (compare refuses others)
    for m_lr in full=3e-4 lora=1e-3; do
        [[ ",$1," == *",${m_lr%%=*},"* ]] && printf '%s\n' --method-lr "$m_lr"
    done
    if [[ ",$1," == *",xprompt,"* ]]; then  # xprompt's stages shortened to fit 100 steps (above)
        printf '%s\n' -m xprompt.stage_a_steps=30 -m xprompt.round_steps=15
    fi
    return 0
}
if [ "${BUDGET:-small}" = full ]; then
    COMMON+=(--max-steps 300 --eval-every 100)
    LIMITS=(--test-limit 300)
else
    COMMON+=(--max-steps 100 --limit 3200)
    LIMITS=()
fi

run() {  # TASK DATA NAME TEST_LIMIT SEEDS [--test-metric M ...]
    local valid="$W/data/$2/clean/dev.jsonl" out="runs/compare/$3" seeds=18,99
    if [ "${BUDGET:-small}" != full ]; then
        valid="runs/compare/data/$2/dev-200.jsonl"
        mkdir -p "$(dirname "$valid")"
        head -n 200 "$W/data/$2/clean/dev.jsonl" > "$valid"
        LIMITS=(--test-limit "$4")
        seeds=$5
    fi
    local args=(--task "$1" --train "$W/data/$2/clean/train.jsonl" --valid "$valid"
                --test "$W/data/$2/clean/test.jsonl" --output "$out" --seeds "$seeds" "${COMMON[@]}" "${LIMITS[@]}" "${@:6}")
    if [ "$JOBS" -gt 1 ]; then  # methods dealt round-robin to JOBS processes, one thread each
        IFS=, read -ra all <<< "$METHODS"
        for ((j = 0; j < JOBS; j++)); do
            part=(); for ((i = j; i < ${#all[@]}; i += JOBS)); do part+=("${all[i]}"); done
            (IFS=,; mapfile -t lrs < <(method_lrs "${part[*]}")
             OMP_NUM_THREADS=1 "$TTUNE" compare --methods "${part[*]}" "${lrs[@]}" "${args[@]}" \
                > "$out.job$j.log" 2>&1) &
            sleep 20  # let each job record its methods in compare_config.json before the next reads it
        done
        wait
    fi
    mapfile -t lrs < <(method_lrs "$METHODS")
    "$TTUNE" compare --methods "$METHODS" "${lrs[@]}" "${args[@]}"   # JOBS > 1: all finished, the full report
    mkdir -p "docs/results/$3"
    for f in report.md results.csv results.json score_vs_params.png validation_curves.png; do
        [ -f "$out/$f" ] && cp "$out/$f" "docs/results/$3/$f"
    done
}
PLUGINS=adapter,prompt-adapter,prompt-attention,cpg-prompt,xprompt
types_data() {  # annotated functions of the venv's site-packages -> runs/builtin/data/types/clean
    local o="$W/data/types" sp
    [ -f "$o/clean/test.jsonl" ] && return
    sp=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    mkdir -p "$o"
    "$TTUNE" data build types --source "$sp" --output "$o/all.jsonl" --limit 0 --per-file 2
    .venv/bin/python -c 'import json, sys
out = {s: open(f"{sys.argv[1]}/{s}.jsonl", "w") for s in ("train", "dev", "test")}
for line in open(f"{sys.argv[1]}/all.jsonl"):
    out[json.loads(line)["split"]].write(line)' "$o"
    "$TTUNE" data clean --train "$o/train.jsonl" --test "$o/dev.jsonl" --test "$o/test.jsonl" --output-dir "$o/clean"
}
tasks=("$@")
[ ${#tasks[@]} -eq 0 ] && tasks=(summarize assert translate)
for t in "${tasks[@]}"; do
    case $t in
        summarize) METHODS=$METHODS,$PLUGINS run summarize tlcodesum summarize-tlcodesum 200 18,99 ;;
        # exact match, the assert headline, can be 0 for every method on this budget: BLEU-4 first
        assert) run assert atlas assert-atlas 200 18,99 --test-metric smooth_bleu4 --test-metric exact_match ;;
        # one seed: a translation run (long outputs to generate) took 5-6 min here
        translate) run translate codexglue translate-codexglue 100 18 --test-metric codebleu --test-metric sacrebleu ;;
        types) types_data
               METHODS=$METHODS,$PLUGINS,topro run types types types 200 18 --test-metric type_exact --test-metric type_outer ;;
        *) echo "unknown task $t (summarize, assert, translate, types)" >&2; exit 1 ;;
    esac
done
