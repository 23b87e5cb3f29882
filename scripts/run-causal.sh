#!/usr/bin/env bash
# The decoder-only runs of docs/pretrain.md and docs/results/*-mamba: two small causal backbones
# pretrained on the local corpus for at most 60 minutes each (one thread), then, on the Mamba one,
# the hybrid method search for summarize and a comparison of the MambaPEFT methods with the
# transducer. Each step resumes when run again; reports are copied into docs/results/.
#
#   scripts/run-causal.sh [mamba|llama|search|compare ...]     # default: mamba search compare
#
# Search and compare need the cleaned TL-CodeSum splits of scripts/build-builtin-models.sh step 1
# (BUILD = runs/builtin). A T5 pretraining run folder (CORPUS_FROM, default runs/campaign) lends
# its sampled corpus when it exists (same corpus options); the tokenizer is trained anew.
#
# Budget for one core of the 2-core CPU machine: pretraining 60 minutes each; Mamba windows of 128
# tokens. Search and comparison: sources cut to 128 tokens and targets to 32, the first 3,200
# training records, validation on the first 200 dev records, test on the first 100; search trials
# of 30 steps of 8 (6 + 6 trials, and each candidate alone); comparison runs of 60 steps of 8,
# seed 18.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${TTUNE_BUILD_DIR:-runs/builtin}
TTUNE=${TTUNE:-.venv/bin/ttune}
CORPUS_FROM=${CORPUS_FROM:-runs/campaign}
MAMBA=${MAMBA:-runs/mamba/backbone}
MAMBA_METHODS=mamba-lora,mamba-partial,affix,additional-scan,parallel-adapter
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

pretrain() {  # ARCH OUT [options...]
    local out=$2
    mkdir -p "$out"
    if [ -f "$CORPUS_FROM/corpus_tokens.safetensors" ] && [ ! -f "$out/corpus.json" ]; then
        cp "$CORPUS_FROM/corpus.json" "$CORPUS_FROM/corpus_tokens.safetensors" "$out/"
    fi
    "$TTUNE" pretrain --arch "$1" --output "$out" --max-minutes 60 --threads 1 \
        --save-dtype float16 --no-progress "${@:3}"
}

copy() {  # FROM TO FILES...: the report files that exist
    mkdir -p "$2"
    for f in "${@:3}"; do
        if [ -f "$1/$f" ]; then cp "$1/$f" "$2/$f"; fi
    done
}

D=runs/compare/data/tlcodesum
SPLITS=(--train "$W/data/tlcodesum/clean/train.jsonl" --valid "$D/dev-200.jsonl")
SHORT=(--model "$MAMBA" --batch-size 8 --max-source-len 128 --max-target-len 32 --limit 3200)
tasks=("$@")
[ ${#tasks[@]} -eq 0 ] && tasks=(mamba search compare)
for t in "${tasks[@]}"; do
    case $t in
        mamba) pretrain mamba runs/mamba --input-length 128 --code-target-length 128 \
                   --batch-size 16 --max-steps 600 --warmup-steps 30 --checkpoint-every 100 \
                   --log-every 10 --distinct-sample 16 ;;
        llama) pretrain llama runs/llama --batch-size 16 --max-steps 900 --warmup-steps 50 \
                   --checkpoint-every 100 --log-every 10 ;;
        search|compare) mkdir -p "$D" && head -n 200 "$W/data/tlcodesum/clean/dev.jsonl" > "$D/dev-200.jsonl" ;;&
        search)
            "$TTUNE" search --task summarize "${SPLITS[@]}" "${SHORT[@]}" \
                --candidates "$MAMBA_METHODS,prompt,transducer" --single-baselines \
                --step1-trials 6 --step2-trials 6 --startup-trials 3 --max-steps 30 --lr 3e-3 \
                --output runs/search/summarize-mamba
            copy runs/search/summarize-mamba docs/results/search-summarize-mamba \
                report.md best.json summary.json objective_vs_params.png ;;
        compare)
            "$TTUNE" compare --task summarize "${SPLITS[@]}" "${SHORT[@]}" \
                --test "$W/data/tlcodesum/clean/test.jsonl" --test-limit 100 \
                --methods "transducer,$MAMBA_METHODS,prompt,none" --seeds 18 \
                --max-steps 60 --lr 3e-3 --eval-every 30 --no-run-progress \
                --output runs/compare/summarize-mamba
            copy runs/compare/summarize-mamba docs/results/summarize-mamba report.md \
                results.csv results.json score_vs_params.png validation_curves.png ;;
        *) echo "unknown step $t (mamba, llama, search, compare)" >&2; exit 1 ;;
    esac
done
