"""Overlap of held-out JUnit records with ATLAS train that `ttune data clean` cannot see: ATLAS
writes every type fully qualified (`org . apache . commons . io . FileSystem`, `java . lang .
String`), the builder writes names as in the source, so a test that ATLAS also holds can stay
below the 0.8 token-set Jaccard. Here both sides have qualifier chains (lower-case names followed
by ` . ` before a capitalised name) removed before the same Jaccard (ttune.data.hygiene); and a
record is also removed when an ATLAS train record has the same test-method name and mentions the
class under test (the held-out test file's name without Test), e.g. the same test of an older
release for which ATLAS chose another focal method.

usage: python qualified_overlap.py HELDOUT.jsonl ATLAS_TRAIN.jsonl OUT_CLEAN.jsonl
Writes the records with no such overlap to OUT_CLEAN.jsonl and prints the counts as JSON."""

import json
import re
import sys

from ttune.data.hygiene import code_tokens, jaccard

QUALIFIER = re.compile(r"\b(?:[a-z_$][\w$]* \. )+(?=[A-Z])")


def norm_tokens(source: str) -> set[str]:
    return set(code_tokens(QUALIFIER.sub("", source)))


def test_name(source: str) -> str:
    return source.split(" ", 1)[0]


def class_under_test(rid: str) -> str:
    stem = rid.split(":")[0].rsplit("/", 1)[-1].removesuffix(".java")
    for suffix in ("Tests", "TestCase", "Test"):
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem.removeprefix("Test")


def main(heldout: str, train: str, out: str) -> None:
    held = [json.loads(line) for line in open(heldout, encoding="utf-8")]
    atlas = [json.loads(line) for line in open(train, encoding="utf-8")]
    atlas_sets = [norm_tokens(r["source"]) for r in atlas]
    atlas_by_name: dict[str, list[set[str]]] = {}
    for r in atlas:
        atlas_by_name.setdefault(test_name(r["source"]), []).append(set(r["source"].split()))
    kept, by_jaccard, by_names = [], [], []
    for r in held:
        s = norm_tokens(r["source"])
        best = 0.0
        for t in atlas_sets:
            lo, hi = sorted((len(s), len(t)))
            if hi and lo / hi < 0.8:  # Jaccard <= min/max size
                continue
            best = max(best, jaccard(s, t))
        if best >= 0.8:
            by_jaccard.append(r["id"])
        elif any(
            class_under_test(r["id"]) in words
            for words in atlas_by_name.get(test_name(r["source"]), [])
        ):
            by_names.append(r["id"])
        else:
            kept.append(r)
    with open(out, "w", encoding="utf-8") as f:
        for r in kept:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(
        json.dumps(
            {
                "read": len(held),
                "removed_unqualified_jaccard_0.8": len(by_jaccard),
                "removed_same_test_name_and_class": len(by_names),
                "kept": len(kept),
                "removed_ids": by_jaccard + by_names,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
