"""Data sets for ttune: the one JSONL schema (:mod:`ttune.data.io`), converters from the research
data sets (:mod:`ttune.data.convert`), builders from real code (:mod:`ttune.data.build`) and hygiene
(:mod:`ttune.data.hygiene`). See docs/data.md."""

from ttune.data.io import DataError, data_dir, make_record, read_jsonl, write_jsonl

__all__ = ["DataError", "data_dir", "make_record", "read_jsonl", "write_jsonl"]
