"""BLEU variants. Every score is on a 0-100 scale.

``smooth_bleu4``: the sentence-level BLEU-4 of CodeNN (Iyer et al. 2016) as used by CodeXGLUE's
code-to-text ``smooth_bleu.py`` (``computeMaps`` + ``bleuFromMaps``), reimplemented here:

1. both texts are lower-cased and split into words and single punctuation marks
   (``[\\w]+|[^\\s\\w]``), then tokenised again with the NIST mteval-v11a rules;
2. clipped n-gram matches for n = 1..4 against the (single) reference;
3. precision p_n = (matches_n + s) / (candidate n-grams_n + s) with s = 0 for n = 1 and
   s = 1 for n > 1 (add-one smoothing only above unigrams);
4. brevity penalty exp(min(0, 1 - (ref_len + 1) / (cand_len + 1))) (the "+1" is the script's);
5. BLEU = BP * exp(mean_n log p_n); the corpus figure is the mean of the sentence scores * 100.

``sacrebleu``: corpus BLEU-4 from sacrebleu (13a tokenisation, no lower-casing, exp smoothing
for the per-example sentence scores only). ``chrf``: sacrebleu chrF (char order 6, beta 2).
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter

_TINY = sys.float_info.min
_SPLIT_PUNCT = re.compile(r"[\w]+|[^\s\w]")
# NIST mteval-v11a tokenisation (language-dependent part, Western languages).
_NIST = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # punctuation except apostrophe
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period/comma unless preceded by a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # period/comma unless followed by a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # dash after a digit
]


def codenn_tokens(text: str) -> list[str]:
    """Tokens as CodeXGLUE's smooth_bleu sees them (splitPuncts + lower + NIST normalise)."""
    s = " ".join(_SPLIT_PUNCT.findall(text.strip().lower()))
    s = s.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    s = s.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    s = f" {s} ".lower()
    for pattern, repl in _NIST:
        s = pattern.sub(repl, s)
    return s.split()


def _ngram_counts(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def smooth_bleu4_sentence(prediction: str, reference: str) -> float:
    """CodeNN / CodeXGLUE smoothed sentence BLEU-4 of one pair, in [0, 1]."""
    hyp, ref = codenn_tokens(prediction), codenn_tokens(reference)
    log_bleu = 0.0
    for n in range(1, 5):
        h, r = _ngram_counts(hyp, n), _ngram_counts(ref, n)
        correct = sum(min(c, r[g]) for g, c in h.items())
        guess = max(len(hyp) - n + 1, 0)
        add = 1 if n > 1 else 0
        log_bleu += math.log(correct + add + _TINY) - math.log(guess + add + _TINY)
    log_bleu /= 4.0
    brevity = min(0.0, 1.0 - (len(ref) + 1) / (len(hyp) + 1))
    return math.exp(log_bleu + brevity)


def smooth_bleu4(predictions: list[str], references: list[str]) -> float:
    scores = smooth_bleu4_per_example(predictions, references)
    return sum(scores) / len(scores) if scores else 0.0


def smooth_bleu4_per_example(predictions: list[str], references: list[str]) -> list[float]:
    return [100.0 * smooth_bleu4_sentence(p, r) for p, r in zip(predictions, references)]


def sacrebleu_corpus(predictions: list[str], references: list[str]) -> float:
    import sacrebleu  # lazy: slow to import; importing ttune.metrics stays cheap

    return float(sacrebleu.corpus_bleu(predictions, [references]).score)


def sacrebleu_per_example(predictions: list[str], references: list[str]) -> list[float]:
    import sacrebleu  # lazy: slow to import; importing ttune.metrics stays cheap

    return [float(sacrebleu.sentence_bleu(p, [r]).score) for p, r in zip(predictions, references)]


def chrf_corpus(predictions: list[str], references: list[str]) -> float:
    import sacrebleu  # lazy: slow to import; importing ttune.metrics stays cheap

    return float(sacrebleu.corpus_chrf(predictions, [references]).score)


def chrf_per_example(predictions: list[str], references: list[str]) -> list[float]:
    import sacrebleu  # lazy: slow to import; importing ttune.metrics stays cheap

    return [float(sacrebleu.sentence_chrf(p, [r]).score) for p, r in zip(predictions, references)]
