"""Figures of one `ttune eval` predictions file (PRED.jsonl, beside the results JSON) over all its
records and over subsets: exact match and smoothed BLEU-4 (ttune.metrics), distinct outputs, how
many predictions (and references) parse as a Java statement once ` ;` is added inside a method
(`syntax_ok` parses a bare member inside a class, which an assertion expression never is), the
oracle (reference among ttune.data.candidates.assert_candidates), and the records per package and
per assertion method.

usage: python analyse.py PRED.jsonl RECORDS.jsonl [KEEP_IDS.jsonl]
(KEEP_IDS.jsonl: records whose ids form the "strict" subset, e.g. qualified_overlap.py's output.)"""

import json
import sys
from collections import Counter

from ttune.data.candidates import assert_candidates
from ttune.data.syntax import parses
from ttune.metrics import per_example


def statement_parses(expr: str) -> bool:
    return parses(f"void m() {{ {expr} ; }}", "java")


def figures(rows: list[dict], recs: dict[str, dict]) -> dict:
    preds = [r["prediction"] for r in rows]
    refs = [r["target"] for r in rows]
    n = len(rows)
    em = per_example("exact_match", preds, refs, "java")
    bleu = per_example("smooth_bleu4", preds, refs, "java")
    oracle = sum(
        r["target"].strip() in {c.text for c in assert_candidates(recs[r["id"]]["source"], "java")}
        for r in rows
    )
    return {
        "records": n,
        "exact_match": round(sum(em) / n, 2),
        "smooth_bleu4": round(sum(bleu) / n, 2),
        "distinct_outputs": len(set(preds)),
        "distinct_references": len(set(refs)),
        "prediction_parses_as_statement_pct": round(100 * sum(map(statement_parses, preds)) / n, 2),
        "reference_parses_as_statement_pct": round(100 * sum(map(statement_parses, refs)) / n, 2),
        "oracle_pct": round(100 * oracle / n, 2),
        "most_common_output": Counter(preds).most_common(1)[0],
    }


def main(pred_path: str, records_path: str, keep_path: str | None = None) -> None:
    rows = [json.loads(line) for line in open(pred_path, encoding="utf-8")]
    recs = {r["id"]: r for r in (json.loads(line) for line in open(records_path, encoding="utf-8"))}
    out = {"all": figures(rows, recs)}
    if keep_path:
        keep = {json.loads(line)["id"] for line in open(keep_path, encoding="utf-8")}
        out["strict"] = figures([r for r in rows if r["id"] in keep], recs)
    forms = ("assertEquals", "assertTrue", "assertFalse", "assertNull", "assertNotNull")
    in_forms = [r for r in rows if r["target"].split(" ( ")[0].rsplit(" ", 1)[-1] in forms]
    out["candidate_forms_only"] = figures(in_forms, recs)
    out["per_package"] = dict(Counter(r["id"].split("/")[0] for r in rows).most_common())
    out["per_assertion"] = dict(
        Counter(r["target"].split(" ( ")[0].rsplit(" ", 1)[-1] for r in rows).most_common()
    )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:4])
