"""Pack a pretraining run folder's prepared data small enough to travel, and unpack it.

A prepared run folder (``ttune pretrain`` reuses ``corpus.json``, ``tokenizer/``,
``corpus_tokens.safetensors``, ``pairs.json`` and ``pairs_tokens.safetensors`` when their keys
match) holds about 190 MB of int32/int64 token ids. Token ids fit uint16 (vocabulary < 65,536)
and the pair offsets become uint32 lengths, so xz shrinks the folder to what a remote machine's
upload limit takes. ``unpack`` restores the exact tensors (dtype, shape, values).

    python scripts/gpu_pack.py pack runs/campaign .gpu/prepared.tar.xz
    python scripts/gpu_pack.py unpack .gpu/prepared.tar.xz runs/gpu
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

TEXT = ("corpus.json", "pairs.json")
TENSORS = ("corpus_tokens.safetensors", "pairs_tokens.safetensors")


def _narrow(name: str, a: np.ndarray) -> tuple[np.ndarray, dict]:
    if name.endswith("_off"):  # ascending offsets -> lengths
        d = np.diff(a, prepend=0)
        assert d.min() >= 0 and d.max() < 2**32
        return d.astype(np.uint32), {"dtype": str(a.dtype), "kind": "offsets"}
    assert a.min() >= 0 and a.max() < 2**16, name
    return a.astype(np.uint16), {"dtype": str(a.dtype), "kind": "ids"}


def pack(run: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, "w:xz", preset=6) as tar:
        for name in TEXT:
            tar.add(run / name, arcname=name)
        tar.add(run / "tokenizer", arcname="tokenizer")
        for name in TENSORS:
            manifest = {}
            for key, a in load_file(str(run / name)).items():
                small, manifest[key] = _narrow(key, a)
                manifest[key]["shape"] = list(a.shape)
                raw = np.ascontiguousarray(small).tobytes()
                info = tarfile.TarInfo(f"{name}.d/{key}.{small.dtype}")
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
            raw = json.dumps(manifest).encode()
            info = tarfile.TarInfo(f"{name}.d/manifest.json")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


def unpack(src: Path, run: Path) -> None:
    run.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, dict[str, np.ndarray]] = {n: {} for n in TENSORS}
    manifests: dict[str, dict] = {}
    with tarfile.open(src, "r:xz") as tar:
        for m in tar.getmembers():
            if not m.isfile():
                continue
            top = m.name.split("/", 1)[0]
            data = tar.extractfile(m).read()
            if top.endswith(".d"):
                name = top[:-2]
                leaf = m.name.split("/", 1)[1]
                if leaf == "manifest.json":
                    manifests[name] = json.loads(data)
                else:
                    key, dtype = leaf.rsplit(".", 1)
                    arrays[name][key] = np.frombuffer(data, dtype=dtype)
            else:
                (run / m.name).parent.mkdir(parents=True, exist_ok=True)
                (run / m.name).write_bytes(data)
    for name in TENSORS:
        out = {}
        for key, spec in manifests[name].items():
            a = arrays[name][key]
            if spec["kind"] == "offsets":
                a = np.cumsum(a.astype(np.int64))
            out[key] = a.astype(spec["dtype"]).reshape(spec["shape"])
        save_file(out, str(run / name))


if __name__ == "__main__":
    verb, a, b = sys.argv[1:4]
    {"pack": pack, "unpack": unpack}[verb](Path(a), Path(b))
