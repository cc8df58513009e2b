"""Text measures for the item linter: words, reading grade, and TF-IDF near-duplicates in NumPy.

The near-duplicate search is an exact sparse TF-IDF cosine: each document's weighted terms are
joined with the postings of those terms, so the work grows with the pairs that share a word, not
with every pair of the bank; a 10,000-item bank takes a second or two (docs/benchmarks.md).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"[.?!]+(?:\s|$)")
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
    ]
)


@lru_cache(maxsize=32768)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower().replace("’", "'")))


def words(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes kept inside words); cached, as several rules read a stem."""
    return list(_tokens(text))


def content_words(text: str) -> list[str]:
    """Words that carry meaning: no stop words, at least three letters."""
    return [w for w in words(text) if w not in STOPWORDS and len(w) >= 3]


@lru_cache(maxsize=65536)
def syllables(word: str) -> int:
    """An English syllable estimate: vowel groups, less a silent final e; at least one."""
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    return max(1, count)


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level: 0.39 words/sentence + 11.8 syllables/word - 15.59."""
    tokens = words(text)
    if not tokens:
        return 0.0
    sentences = max(1, len(_SENTENCE_END.findall(text.strip() + " ")))
    syllable_count = sum(syllables(w) for w in tokens)
    return 0.39 * len(tokens) / sentences + 11.8 * syllable_count / len(tokens) - 15.59


def _tfidf(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows as (doc, term, weight) triples: sublinear tf, smooth idf, each row L2-normalised."""
    vocabulary: dict[str, int] = {}
    docs: list[int] = []
    terms: list[int] = []
    counts: list[int] = []
    for doc, text in enumerate(texts):
        bag: dict[int, int] = {}
        for word in content_words(text):
            term = vocabulary.setdefault(word, len(vocabulary))
            bag[term] = bag.get(term, 0) + 1
        for term, count in bag.items():
            docs.append(doc)
            terms.append(term)
            counts.append(count)
    doc_arr = np.asarray(docs, dtype=np.int64)
    term_arr = np.asarray(terms, dtype=np.int64)
    tf = 1.0 + np.log(np.asarray(counts, dtype=np.float64))
    df = np.bincount(term_arr, minlength=len(vocabulary)).astype(np.float64)
    idf = np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0
    weight = tf * idf[term_arr] if len(term_arr) else tf
    norms = np.sqrt(np.bincount(doc_arr, weights=weight * weight, minlength=len(texts)))
    weight = weight / np.where(norms[doc_arr] > 0, norms[doc_arr], 1.0)
    return doc_arr, term_arr, weight


#: Above this many joined postings (the sum of squared document frequencies) the exact join
#: would take longer than the linter's budget, and candidates come from a random projection.
EXACT_WORK = 30_000_000
PROJECTION_DIMS = 256
PROJECTION_MARGIN = 0.25  # four standard errors of a 256-dimension cosine estimate


def near_duplicate_pairs(texts: list[str], threshold: float, limit: int = 10_000) -> list[tuple[int, int, float]]:
    """Every pair (i, j, cosine) with i < j whose TF-IDF cosine is at least `threshold`, up to
    `limit` pairs (a bank with more has a problem no list of pairs will fix).

    Exact when the words the documents share are few enough to join (every real bank here);
    for a large bank of much-shared words, candidate pairs come from a 256-dimension Gaussian
    projection with a margin of four standard errors, and each candidate's cosine is then
    computed exactly, so every pair reported is a true one and a miss is a 1-in-30,000 event.
    """
    n = len(texts)
    if n < 2:
        return []
    doc, term, weight = _tfidf(texts)
    if not len(term):
        return []
    df = np.bincount(term).astype(np.float64)
    if float((df * df).sum()) > EXACT_WORK:
        return _projected_pairs(n, doc, term, weight, threshold, limit)
    return _exact_pairs(n, doc, term, weight, threshold, limit)


def _projected_pairs(
    n: int, doc: np.ndarray, term: np.ndarray, weight: np.ndarray, threshold: float, limit: int
) -> list[tuple[int, int, float]]:
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((int(term.max()) + 1, PROJECTION_DIMS)).astype(np.float32)
    # Documents x terms, a block of documents at a time as a dense matrix, times the basis (BLAS).
    vocabulary = basis.shape[0]
    projected = np.zeros((n, PROJECTION_DIMS), dtype=np.float32)
    doc_start = np.searchsorted(doc, np.arange(n + 1))
    step = max(1, 4_000_000 // vocabulary)
    for first in range(0, n, step):
        last = min(n, first + step)
        lo, hi = int(doc_start[first]), int(doc_start[last])
        dense = np.zeros((last - first, vocabulary), dtype=np.float32)
        dense[doc[lo:hi] - first, term[lo:hi]] = weight[lo:hi]
        projected[first:last] = dense @ basis
    norms = np.linalg.norm(projected, axis=1)
    projected /= np.where(norms > 0, norms, 1.0)[:, None]

    bags: dict[int, dict[int, float]] = {}

    def bag(i: int) -> dict[int, float]:
        if i not in bags:
            lo, hi = int(doc_start[i]), int(doc_start[i + 1])
            bags[i] = dict(zip(term[lo:hi].tolist(), weight[lo:hi].tolist(), strict=True))
        return bags[i]

    pairs: list[tuple[int, int, float]] = []
    block = 512
    for first in range(0, n, block):
        last = min(n, first + block)
        scores = projected[first:last] @ projected[first:].T  # the upper triangle and its band
        rows, cols = np.nonzero(scores >= threshold - PROJECTION_MARGIN)
        for i, j in zip((rows + first).tolist(), (cols + first).tolist(), strict=True):
            if j <= i:
                continue
            a, b = bag(i), bag(j)
            small, large = (a, b) if len(a) <= len(b) else (b, a)
            exact = sum(w * large.get(t, 0.0) for t, w in small.items())
            if exact >= threshold - 1e-9 and exact > 0:
                pairs.append((i, j, float(min(1.0, exact))))
                if len(pairs) >= limit:
                    return pairs
    return pairs


def _exact_pairs(
    n: int, doc: np.ndarray, term: np.ndarray, weight: np.ndarray, threshold: float, limit: int
) -> list[tuple[int, int, float]]:
    # Postings: for each term, the documents that use it (sorted by term, then document).
    order = np.lexsort((doc, term))
    post_doc, post_weight = doc[order], weight[order]
    term_count = int(term.max()) + 1
    post_start = np.zeros(term_count + 1, dtype=np.int64)
    np.cumsum(np.bincount(term, minlength=term_count), out=post_start[1:])
    df = post_start[1:] - post_start[:-1]

    # Entries are sorted by document already (documents were read in order). Documents are
    # taken in blocks whose joined postings and score table stay a few tens of megabytes.
    doc_start = np.searchsorted(doc, np.arange(n + 1))
    doc_cost = np.zeros(n + 1)
    np.cumsum(np.bincount(doc, weights=df[term].astype(np.float64), minlength=n), out=doc_cost[1:])
    budget, max_block = 4_000_000, max(1, 5_000_000 // n)
    pairs: list[tuple[int, int, float]] = []
    first = 0
    while first < n:
        end_doc = int(np.searchsorted(doc_cost, doc_cost[first] + budget, side="right")) - 1
        end_doc = max(first + 1, min(end_doc, first + max_block, n))
        block = end_doc - first
        lo, hi = doc_start[first], doc_start[end_doc]
        e_doc, e_term, e_weight = doc[lo:hi], term[lo:hi], weight[lo:hi]
        e_df = df[e_term]
        total = int(e_df.sum())
        if total:
            starts = np.repeat(post_start[e_term], e_df)
            offsets = np.arange(total) - np.repeat(np.cumsum(e_df) - e_df, e_df)
            other = post_doc[starts + offsets]
            left = np.repeat(e_doc, e_df)
            keep = other > left
            product = (np.repeat(e_weight, e_df) * post_weight[starts + offsets])[keep]
            key = (left[keep] - first) * n + other[keep]
            sims = np.bincount(key, weights=product, minlength=block * n)
            hits = np.flatnonzero((sims >= threshold - 1e-9) & (sims > 0))
            for flat in hits.tolist():
                i, j = divmod(flat, n)
                pairs.append((first + i, j, float(min(1.0, sims[flat]))))
                if len(pairs) >= limit:
                    return pairs
        first = end_doc
    return pairs
