"""A saved fast tokenizer read with the ``tokenizers`` library alone (no transformers import).

:class:`LiteTokenizer` answers the calls ttune's data path and decoding make of a transformers
``PreTrainedTokenizerFast`` (``tokenizer(text, truncation=..., max_length=...,
return_offsets_mapping=..., return_special_tokens_mask=...)``, ``tokenizer(texts,
add_special_tokens=False)``, ``pad_token_id``, ``batch_decode(ids, skip_special_tokens=True)``)
with the same results: transformers runs the same ``tokenizer.json`` through the same library.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer


class LiteTokenizerError(ValueError):
    """A tokenizer folder this module cannot read the way transformers would. One line."""


class LiteTokenizer:
    """``tokenizer.json`` (+ ``tokenizer_config.json`` for the pad token) of a folder."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        path = folder / "tokenizer.json"
        if not path.is_file():
            raise LiteTokenizerError(f"no tokenizer.json in {folder}")
        self._tok = Tokenizer.from_file(str(path))
        self._tok.no_truncation()
        self._tok.no_padding()
        conf_path = folder / "tokenizer_config.json"
        conf = json.loads(conf_path.read_text(encoding="utf-8")) if conf_path.is_file() else {}
        if conf.get("clean_up_tokenization_spaces") and type(self._tok.model).__name__ != "BPE":
            raise LiteTokenizerError(f"{conf_path}: clean_up_tokenization_spaces is not supported")
        pad = conf.get("pad_token", "<pad>")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        self.pad_token_id = self._tok.token_to_id(pad) if isinstance(pad, str) else None
        self._lock = threading.Lock()  # truncation is a setting of the shared Rust tokenizer

    def __len__(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def __call__(
        self,
        text: str | list[str],
        *,
        add_special_tokens: bool = True,
        truncation: bool = False,
        max_length: int | None = None,
        return_offsets_mapping: bool = False,
        return_special_tokens_mask: bool = False,
    ) -> dict[str, Any]:
        """``{"input_ids", ["offset_mapping"], ["special_tokens_mask"]}``: lists for one text,
        lists of lists for a list of texts."""
        texts = [text] if isinstance(text, str) else list(text)
        with self._lock:
            if truncation and max_length is not None:
                self._tok.enable_truncation(max_length)
            try:
                encs = self._tok.encode_batch(texts, add_special_tokens=add_special_tokens)
            finally:
                self._tok.no_truncation()
        out: dict[str, Any] = {"input_ids": [e.ids for e in encs]}
        if return_offsets_mapping:
            out["offset_mapping"] = [e.offsets for e in encs]
        if return_special_tokens_mask:
            out["special_tokens_mask"] = [e.special_tokens_mask for e in encs]
        return {k: v[0] for k, v in out.items()} if isinstance(text, str) else out

    def batch_decode(self, ids, skip_special_tokens: bool = False) -> list[str]:
        """One text per row of ``ids`` (a tensor or lists of ids)."""
        rows = ids.tolist() if hasattr(ids, "tolist") else [list(r) for r in ids]
        return self._tok.decode_batch(rows, skip_special_tokens=skip_special_tokens)
