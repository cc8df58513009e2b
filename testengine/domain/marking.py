"""Marking short answers: grouping identical answers, agreement between markers, second marking.

ST0663 short answers are marked by independent assessors following a marking guide (0, 1 or 2
marks). ST1380 asks assessors to standardise and to have their decisions moderated. This module
holds the arithmetic behind that: how alike two markers are (exact agreement, quadratic weighted
kappa), which scripts a second marker must see, whether a marker passed a standardisation
exercise. Which mark stands once an answer has been marked is mark_standing.py.
"""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from testengine.domain.errors import DomainError, OutOfRange

MARK_CATEGORIES = (0, 1, 2)  # a short answer: wrong or missing, partly right, right

# Deleted rather than turned into a space, so "don't" and "dont" group together.
_APOSTROPHES = frozenset("'\u2018\u2019\u02bc")


def normalise_answer(text: str) -> str:
    """The form of an answer used to spot identical ones: "The DWP." and "the  dwp" match.

    NFKC folds look-alike characters (full-width letters, ligatures, non-breaking spaces),
    casefold ignores case (better than lower() for e.g. German eszett), apostrophes are deleted and
    other punctuation becomes a space (so "part-time" matches "part time"), and runs of whitespace
    collapse to one space. Symbols such as "£" and "%" are kept: they can change the meaning.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    kept = []
    for ch in folded:
        if ch in _APOSTROPHES:
            continue
        kept.append(" " if unicodedata.category(ch).startswith("P") else ch)
    return " ".join("".join(kept).split())


def group_identical(answers: Mapping[int, str]) -> list[list[int]]:
    """Response ids grouped by normalised answer, so a marker can mark a group in one decision.

    Blank answers (and answers that are only punctuation) are left out: they get 0 without a
    marker's judgement. Largest groups first; ties by smallest response id; ids ascending in a
    group. The order never depends on the mapping's order, so two markers see the same list.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for response_id, text in answers.items():
        key = normalise_answer(text)
        if key:
            groups[key].append(response_id)
    ordered = [sorted(ids) for ids in groups.values()]
    ordered.sort(key=lambda ids: (-len(ids), ids[0]))
    return ordered


def _paired(a: Sequence[int], b: Sequence[int]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    x, y = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if x.ndim != 1 or x.shape != y.shape:
        raise DomainError("two raters' marks must be paired one to one")
    if x.size == 0:
        raise DomainError("agreement needs at least one doubly marked answer")
    return x, y


def exact_agreement(a: Sequence[int], b: Sequence[int]) -> float:
    """Share of answers on which the two markers gave the same mark."""
    x, y = _paired(a, b)
    return float(np.mean(x == y))


def quadratic_weighted_kappa(a: Sequence[int], b: Sequence[int], categories: Sequence[int] = MARK_CATEGORIES) -> float:
    """Cohen's kappa with quadratic weights: agreement beyond chance, near misses half-forgiven.

    kappa = 1 - sum(w * observed) / sum(w * expected), with w_ij = (i - j)^2 / (k - 1)^2 over
    category ranks, observed the joint proportions and expected the product of the two raters'
    marginal proportions. A 1-vs-2 disagreement costs a quarter of a 0-vs-2 one.

    Defined behaviour at the edge: when sum(w * expected) is 0 both raters gave one and the same
    mark to every answer. Kappa is then undefined (0/0) and we return NaN, as scikit-learn's
    cohen_kappa_score does: identical constant marks show no ability to tell answers apart, so
    reporting 1.0 would praise agreement that chance alone explains. If only one rater is
    constant, observed equals expected and kappa is 0.0.
    """
    x, y = _paired(a, b)
    cats = np.asarray(sorted(categories), dtype=np.int64)
    k = cats.size
    if k < 2 or np.unique(cats).size != k:
        raise DomainError("kappa needs at least two distinct categories")
    ix, iy = np.searchsorted(cats, x), np.searchsorted(cats, y)
    if np.any(ix >= k) or np.any(iy >= k) or np.any(cats[ix % k] != x) or np.any(cats[iy % k] != y):
        raise OutOfRange(f"a mark is outside the categories {tuple(cats.tolist())}")
    observed = np.bincount(ix * k + iy, minlength=k * k).reshape(k, k) / x.size
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    ranks = np.arange(k)
    weights = (ranks[:, None] - ranks[None, :]) ** 2 / (k - 1) ** 2
    chance = float((weights * expected).sum())
    if chance == 0.0:
        return math.nan
    return 1.0 - float((weights * observed).sum()) / chance


def agreement_by_item(item: npt.ArrayLike, first: npt.ArrayLike, second: npt.ArrayLike, n_items: int) -> npt.NDArray[np.float64]:
    """Exact agreement per item over its doubly marked answers (NaN for an item with none).

    One row per doubly marked answer. This is the `marker_agreement` that item_stats.flag_items
    reads: a question markers keep disagreeing on usually needs a clearer marking guide.
    """
    it = np.asarray(item, dtype=np.int64)
    x, y = np.asarray(first), np.asarray(second)
    if it.ndim != 1 or x.shape != it.shape or y.shape != it.shape:
        raise DomainError("item, first and second must have one entry per doubly marked answer")
    if it.size and (it.min() < 0 or it.max() >= n_items):
        raise OutOfRange(f"an item index is outside 0..{n_items - 1}")
    same = np.bincount(it, weights=(x == y).astype(np.float64), minlength=n_items)
    count = np.bincount(it, minlength=n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, same / count, np.nan)


def boundary_scripts(script_totals: Mapping[int, int], boundary_minimums: Sequence[int], margin: int) -> set[int]:
    """Scripts whose grade a change of at most `margin` marks could flip.

    A boundary is the minimum mark of a grade above the lowest (ST0663: Pass 46, Distinction 53).
    The line lies between b - 1 and b, so the at-risk totals are b - margin .. b + margin - 1:
    with margin 2, 44..47 and 51..54. 44 is two marks short of a pass, 47 two marks from losing
    it; 48 would need three. (The symmetric |total - b| <= margin would add 48 and 55, which no
    two-mark change can move across the line.)
    """
    if margin < 0:
        raise OutOfRange("margin cannot be negative")
    return {sid for sid, total in script_totals.items() if any(b - margin <= total <= b + margin - 1 for b in boundary_minimums)}


def second_marking_sample(
    script_totals: Mapping[int, int],
    boundary_minimums: Sequence[int],
    *,
    fraction: float = 0.10,
    margin: int = 2,
    seed: int,
) -> set[int]:
    """Scripts for a second marker: every near-boundary script plus a random share of the rest.

    Near-boundary scripts (see `boundary_scripts`) are where a marking error changes a grade, so
    all of them are second-marked. Of the other scripts, ceil(fraction * count) are drawn at
    random, to keep a check on markers across the whole range. The draw uses a NumPy Generator
    seeded with `seed` over the ids in ascending order, so the sample can be reproduced for an
    audit from the seed alone. (A tiny tolerance in the ceiling keeps 0.1 * 70 at 7, not 8.)
    """
    if not 0.0 <= fraction <= 1.0:
        raise OutOfRange("fraction must be between 0 and 1")
    near = boundary_scripts(script_totals, boundary_minimums, margin)
    rest = sorted(sid for sid in script_totals if sid not in near)
    take = min(len(rest), max(0, math.ceil(fraction * len(rest) - 1e-9)))
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(rest), size=take, replace=False).tolist() if take else []
    return near | {rest[i] for i in picked}


@dataclass(frozen=True)
class StandardisationOutcome:
    """A marker's result on a standardisation set: agreement with the reference marks."""

    agreement: float  # NaN when nothing could be compared
    passed: bool
    compared: int


def standardisation_outcome(
    marker: Mapping[int, int], reference: Mapping[int, int], threshold: float = 0.8
) -> StandardisationOutcome:
    """Exact agreement with the reference (lead assessor's) marks on the answers both marked.

    A marker passes with agreement >= threshold on at least one compared answer; a marker who
    marked none of the set has shown nothing and does not pass.
    """
    shared = sorted(marker.keys() & reference.keys())
    if not shared:
        return StandardisationOutcome(agreement=math.nan, passed=False, compared=0)
    agreement = exact_agreement([marker[i] for i in shared], [reference[i] for i in shared])
    return StandardisationOutcome(agreement, agreement >= threshold, len(shared))


@dataclass(frozen=True)
class MarkerSummary:
    """One marker's workload and consistency, for the lead assessor's marking review."""

    marker: int
    volume: int  # answers marked
    mean_seconds: float  # mean time per answer (NaN if no times were recorded)
    compared: int  # mark pairs with a second marker or moderator
    exact_agreement: float  # NaN when compared == 0
    qwk: float  # quadratic weighted kappa on the same pairs; NaN when compared == 0
    mean_mark: float  # the marker's mean mark on items other markers also marked
    peer_mean_mark: float  # other markers' mean mark on those items, weighted like the marker's


def marker_summary(
    marker: Sequence[int],
    response: Sequence[int],
    item: Sequence[int],
    mark: Sequence[int],
    seconds: Sequence[float],
    moderated: Mapping[int, int] | None = None,
    categories: Sequence[int] = MARK_CATEGORIES,
) -> list[MarkerSummary]:
    """Per marker (ascending id): volume, speed, agreement with others and leniency.

    Inputs are parallel sequences, one entry per marking event (a first or a second mark):
    who marked, which response, which item the response answers, the mark, seconds spent (NaN
    if unknown). `moderated` maps a response id to the moderator's mark. A mark is compared
    with the moderator's mark where the response was moderated (that mark stands), otherwise
    with every other marker's mark on the same response. Leniency is read from mean_mark minus
    peer_mean_mark: for each item the marker marked, the other markers' mean on that item,
    weighted by how many of that item's answers this marker marked, so a marker given harder
    items is not called severe.
    """
    who, resp, itm = list(marker), list(response), list(item)
    marks, secs = list(mark), [float(s) for s in seconds]
    if not len(who) == len(resp) == len(itm) == len(marks) == len(secs):
        raise DomainError("marker, response, item, mark and seconds must be the same length")
    moderated = moderated or {}

    by_response: dict[int, list[tuple[int, int]]] = defaultdict(list)
    item_sum: dict[int, float] = defaultdict(float)
    item_count: dict[int, int] = defaultdict(int)
    own_sum: dict[tuple[int, int], float] = defaultdict(float)
    own_count: dict[tuple[int, int], int] = defaultdict(int)
    for m, r, i, v in zip(who, resp, itm, marks):
        by_response[r].append((m, v))
        item_sum[i] += v
        item_count[i] += 1
        own_sum[(m, i)] += v
        own_count[(m, i)] += 1

    pairs: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    times: dict[int, list[float]] = defaultdict(list)
    volume: dict[int, int] = defaultdict(int)
    lenient: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # n, own, peers
    for m, r, i, v, s in zip(who, resp, itm, marks, secs):
        volume[m] += 1
        if math.isfinite(s):
            times[m].append(float(s))
        mine, theirs = pairs[m]
        if r in moderated:
            mine.append(v)
            theirs.append(moderated[r])
        else:
            for other, w in by_response[r]:
                if other != m:
                    mine.append(v)
                    theirs.append(w)
        peer_n = item_count[i] - own_count[(m, i)]
        if peer_n > 0:
            acc = lenient[m]
            acc[0] += 1
            acc[1] += v
            acc[2] += (item_sum[i] - own_sum[(m, i)]) / peer_n

    out = []
    for m in sorted(volume):
        mine, theirs = pairs[m]
        n_len, own, peers = lenient[m]
        out.append(
            MarkerSummary(
                marker=m,
                volume=volume[m],
                mean_seconds=float(np.mean(times[m])) if times[m] else math.nan,
                compared=len(mine),
                exact_agreement=exact_agreement(mine, theirs) if mine else math.nan,
                qwk=quadratic_weighted_kappa(mine, theirs, categories) if mine else math.nan,
                mean_mark=own / n_len if n_len else math.nan,
                peer_mean_mark=peers / n_len if n_len else math.nan,
            )
        )
    return out
