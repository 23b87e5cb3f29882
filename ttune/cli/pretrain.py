"""`ttune pretrain`: pretrain a small T5 backbone from scratch on local code (resumable).

Its options are the fields of :class:`ttune.pretrain.config.PretrainConfig`."""

from __future__ import annotations

import shlex
import sys

import typer

from ttune.cli.errors import errors_as_fail
from ttune.cli.options import Flag, comma_list, with_config
from ttune.pretrain.config import PretrainConfig, PretrainError

def pretrain(
    output: Path = typer.Option(..., "--output", "-o", help="Run folder; the backbone goes to OUTPUT/backbone. Run the same command again to resume."),
    shape: str = typer.Option("ttune-tiny", "--shape", help="Model shape: ttune-tiny (d256, 4+4 layers), ttune-mini, tiny, small, codet5p-220m, codet5p-770m."),
    d_model: Optional[int] = typer.Option(None, "--d-model", help="Override the shape's hidden size."),
    d_ff: Optional[int] = typer.Option(None, "--d-ff", help="Override the shape's feed-forward size."),
    layers: Optional[int] = typer.Option(None, "--layers", help="Override the shape's layers (encoder and decoder each)."),
    heads: Optional[int] = typer.Option(None, "--heads", help="Override the shape's attention heads."),
    max_steps: int = typer.Option(3000, "--max-steps", help="Optimizer steps of the whole run (the schedule spans them)."),
    max_minutes: Optional[float] = typer.Option(None, "--max-minutes", help="Wall-clock budget of this invocation; then checkpoint and write the backbone (rerun to continue)."),
    corpus_bytes: int = typer.Option(48_000_000, "--corpus-bytes", help="Size cap of the corpus in bytes, shared equally by the sources."),
    sources: Optional[str] = typer.Option(None, "--sources", help="Comma-separated corpus sources (default: all of python-stdlib, site-packages, jdk, codexglue-java-cs, avatar-java-python, code-docstring, tl-codesum, atlas)."),
    vocab_size: int = typer.Option(12_000, "--vocab-size", help="Byte-level BPE vocabulary (with 100 <extra_id_*> sentinels)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the corpus sample, init, data order and noise."),
    batch_size: int = typer.Option(32, "--batch-size", help="Windows per optimizer step."),
    input_length: int = typer.Option(256, "--input-length", help="Corpus tokens per window before span corruption."),
    prefix_share: float = typer.Option(0.15, "--prefix-share", help="Share of steps training prefix LM (the decoder continues a window)."),
    summarize_share: float = typer.Option(0.2, "--summarize-share", help="Share of steps training the summarize task (code -> first doc sentence) on training pairs; 0 turns it off."),
    generate_share: float = typer.Option(0.1, "--generate-share", help="Share of steps training docstring -> code on the same pairs."),
    translate_share: float = typer.Option(0.15, "--translate-share", help="Share of steps training the translate task (CodeXGLUE Java<->C#, AVATAR Java<->Python train)."),
    assert_share: float = typer.Option(0.1, "--assert-share", help="Share of steps training the assert task (ATLAS carved train). Span corruption takes the rest."),
    docstring_pairs: int = typer.Option(60_000, "--docstring-pairs", help="Most (code, docstring) pairs taken from the local sources."),
    code_target_length: int = typer.Option(256, "--code-target-length", help="Code tokens kept in a generate, translate or assert target."),
    bucket_pairs: bool = typer.Option(True, "--bucket-pairs/--no-bucket-pairs", help="Batch supervised pairs by length (less padding)."),
    distinct_sample: int = typer.Option(64, "--distinct-sample", help="Held-out summarize inputs decoded greedily at each checkpoint (share of distinct summaries logged)."),
    init_from: Optional[Path] = typer.Option(None, "--init-from", help="Start from this backbone folder's weights and tokenizer instead of a random init (a checkpoint in OUTPUT still wins)."),
    lr: float = typer.Option(2e-3, "--lr", help="Peak AdamW learning rate."),
    warmup_steps: int = typer.Option(200, "--warmup-steps", help="Linear warm-up steps."),
    schedule: str = typer.Option("cosine", "--schedule", help="cosine, linear or constant after warm-up."),
    checkpoint_every: int = typer.Option(200, "--checkpoint-every", help="Checkpoint (and held-out loss) every N steps."),
    log_every: int = typer.Option(10, "--log-every", help="A log.jsonl line every N steps."),
    save_dtype: str = typer.Option("float32", "--save-dtype", help="Storage dtype of the final backbone: float32, float16, bfloat16."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Shared data sets folder (default $TTUNE_DATA_DIR or ../shared/datasets)."),
    precision: str = typer.Option("auto", "--precision", help="bf16 (autocast, float32 weights), fp32, or auto (bf16 where the hardware computes it natively)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch CPU threads."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a byte-level BPE tokenizer and a small T5 (span corruption, prefix LM and the supervised
    tasks summarize, generate, translate, assert) on code from this machine and the training splits
    of the shared data sets, or continue a backbone (--init-from); the result is a backbone folder."""
    from ttune import api

    with errors_as_fail(PretrainError):
        extra = {"sources": sources} if sources else {}
        config = PretrainConfig(
            output_dir=str(output), shape=shape, d_model=d_model, d_ff=d_ff, num_layers=layers,
            num_heads=heads, max_steps=max_steps, max_minutes=max_minutes, corpus_bytes=corpus_bytes,
            vocab_size=vocab_size, seed=seed, batch_size=batch_size, input_length=input_length, lr=lr,
            prefix_share=prefix_share, summarize_share=summarize_share, generate_share=generate_share,
            translate_share=translate_share, assert_share=assert_share, docstring_pairs=docstring_pairs,
            code_target_length=code_target_length, bucket_pairs=bucket_pairs,
            distinct_sample=distinct_sample, init_from=str(init_from) if init_from else None,
            warmup_steps=warmup_steps, schedule=schedule, checkpoint_every=checkpoint_every,
            log_every=log_every, save_dtype=save_dtype, data_dir=str(data_dir) if data_dir else None,
            precision=precision, threads=threads, progress=progress,
            command="ttune pretrain " + " ".join(shlex.quote(a) for a in sys.argv[2:]), **extra)
        path = api.pretrain(config)
    typer.echo(f"wrote the pretrained backbone to {path}")


def register(app: typer.Typer) -> None:
    app.command("pretrain")(pretrain)
