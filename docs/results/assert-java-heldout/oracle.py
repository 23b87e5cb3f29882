"""Share of records whose reference is among the candidate assertions
(ttune.data.candidates.assert_candidates), i.e. the most that reranking can reach.

usage: python oracle.py RECORDS.jsonl [LIMIT]"""

import json
import sys

from ttune.data.candidates import assert_candidates


def main(path: str, limit: int | None) -> None:
    recs = [json.loads(line) for line in open(path, encoding="utf-8")][:limit]
    with_cands = hit = 0
    sizes = []
    for r in recs:
        texts = [c.text for c in assert_candidates(r["source"], r["source_lang"])]
        with_cands += bool(texts)
        sizes.append(len(texts))
        hit += r["target"].strip() in texts
    n = len(recs)
    print(
        json.dumps(
            {
                "records": n,
                "with_candidates": with_cands,
                "reference_among_candidates": hit,
                "oracle_pct": round(100 * hit / n, 2),
                "mean_candidates": round(sum(sizes) / n, 1),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
