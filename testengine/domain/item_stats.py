"""Item statistics: how each question in a bank behaves, and how reliable a sitting was.

Bank reviewers must keep every question "fit for purpose" and review each bank at least once a
year (ST0663). These numbers are what a review looks at: is a question too easy or too hard, does
it separate stronger candidates from weaker ones, do its wrong options attract anyone, and do
markers agree on it.

Papers are drawn at random, so no two scripts hold the same 40 questions. Responses therefore come
in LONG form (one row per script and item) and everything here is computed per item over the
scripts that saw it, with np.bincount over the rows: no Python loop over responses, so a year of
sittings (a million responses) takes well under a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from testengine.domain.errors import DomainError, OutOfRange

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Z_95 = 1.959963984540054  # standard normal quantile for a two-sided 95% interval
# Below an item-rest r of 0.20 an item adds little to the test (Ebel's "marginal" band starts
# at 0.20; 0.15 lets weak items through). A standard's spec may set its own (quality:).
LOW_DISCRIMINATION = 0.20

FLAG_CODES = (
    "too_easy",
    "too_hard",
    "low_discrimination",
    "negative_discrimination",
    "unused_distractor",
    "weak_marker_agreement",
)


@dataclass(frozen=True, eq=False)
class Responses:
    """Every marked response of a set of scripts, one row each (long format).

    `choice` is the MCQ option chosen in the question's ORIGINAL option order (options are shown
    shuffled, but statistics must talk about the option as written): 0..n_options-1, -1 for a
    blank MCQ, -2 for a row that is not an MCQ. `position` is where the question sat on the
    candidate's paper (0-based), needed only for `position_matrix`.
    """

    script: npt.NDArray[np.integer]
    item: npt.NDArray[np.integer]
    score: FloatArray
    max_marks: FloatArray
    choice: npt.NDArray[np.integer] | None = None
    position: npt.NDArray[np.integer] | None = None

    def __post_init__(self) -> None:
        n = np.shape(self.script)
        arrays = {
            "script": self.script,
            "item": self.item,
            "score": self.score,
            "max_marks": self.max_marks,
            "choice": self.choice,
            "position": self.position,
        }
        for name, arr in arrays.items():
            if arr is not None and (np.ndim(arr) != 1 or np.shape(arr) != n):
                raise DomainError(f"responses: {name} must be 1-D with one entry per response")
        if self.script.size and (self.script.min() < 0 or self.item.min() < 0):
            raise OutOfRange("responses: script and item indices must be >= 0")
        if not np.all(np.isfinite(self.score)) or not np.all(self.max_marks > 0):
            raise OutOfRange("responses: scores must be finite and max_marks positive")
        if np.any(self.score < 0) or np.any(self.score > self.max_marks):
            raise OutOfRange("responses: a score lies outside 0..max_marks")

    @property
    def n_scripts(self) -> int:
        """Scripts are numbered 0..n-1; the highest index seen fixes n."""
        return int(self.script.max()) + 1 if self.script.size else 0


@dataclass(frozen=True, eq=False)
class ItemStats:
    """Per-item statistics; index i describes item i. NaN marks a value the data cannot define."""

    n: IntArray  # responses to the item
    facility: FloatArray  # marks gained / marks available (the classical p-value)
    facility_ci: FloatArray  # (n_items, 2): 95% Wilson interval, lower and upper
    discrimination: FloatArray  # corrected item-total (item-rest) Pearson correlation
    upper_lower: FloatArray  # facility in the top group minus facility in the bottom group
    mark_distribution: IntArray  # (n_items, max_mark + 1): how many responses got each mark


@dataclass(frozen=True, eq=False)
class Distractors:
    """How often each MCQ option was chosen, overall and in the top and bottom groups.

    Share arrays are (n_items, n_options + 1): columns are the options in original order and the
    last column is "left blank". Shares are of the item's MCQ responses (blanks included) in that
    group; NaN where the group has none. `key` is the option that earned the marks (-1 when nobody
    answered correctly, so the data cannot tell).
    """

    n: IntArray
    key: IntArray
    overall: FloatArray
    upper: FloatArray
    lower: FloatArray


def _sums(group: npt.NDArray[np.integer], weights: FloatArray, n_groups: int) -> FloatArray:
    """Weighted counts per group (np.bincount with weights is always float64)."""
    return np.bincount(group, weights=weights, minlength=n_groups).astype(np.float64, copy=False)


def script_totals(r: Responses) -> FloatArray:
    """Each script's total mark, the criterion every item is compared against."""
    return _sums(r.script, r.score, r.n_scripts)


def _check_items(r: Responses, n_items: int) -> None:
    if n_items < 0 or (r.item.size and int(r.item.max()) >= n_items):
        raise OutOfRange(f"responses: an item index is outside 0..{n_items - 1}")


def _extreme_groups(
    totals: FloatArray, present: npt.NDArray[np.bool_], fraction: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The top and bottom `fraction` of scripts by total (Kelley's 27% by default).

    Group size is round(fraction * scripts), at least 1. Scripts tied with the cut-off score join
    the group, so equal totals are always treated alike (a group may then exceed its fraction);
    if the two cut-offs meet, the groups cannot be told apart and both are returned empty.
    """
    if not 0.0 < fraction <= 0.5:
        raise OutOfRange("group_fraction must be in (0, 0.5]")
    empty = np.zeros(totals.shape, dtype=bool)
    t = np.sort(totals[present])
    if t.size == 0:
        return empty, empty
    k = max(1, math.floor(fraction * t.size + 0.5))
    lo_cut, hi_cut = t[k - 1], t[t.size - k]
    if hi_cut <= lo_cut:
        return empty, empty
    return present & (totals >= hi_cut), present & (totals <= lo_cut)


def wilson_interval(successes: FloatArray, trials: FloatArray, z: float = Z_95) -> FloatArray:
    """Wilson score interval for a proportion: (k, 2) lower and upper bounds, NaN for 0 trials.

    Wilson rather than the textbook p +- z*se because item facilities sit near 0 or 1 and banks
    have items with few responses; there the normal interval spills outside [0, 1] and is too
    narrow, while Wilson stays inside and keeps close to its nominal coverage.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / trials
        z2 = z * z
        denom = 1.0 + z2 / trials
        centre = (p + z2 / (2.0 * trials)) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / trials + z2 / (4.0 * trials * trials))
    out = np.column_stack([np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)])
    out[~(trials > 0)] = np.nan
    return out


def item_statistics(r: Responses, n_items: int, *, group_fraction: float = 0.27) -> ItemStats:
    """Classical item analysis for randomly drawn papers.

    A script's total is its raw mark; every paper drawn to one blueprint has the same maximum
    (66 for ST0663), so totals are comparable across papers. Analyse one blueprint at a time.

    - facility: sum(score) / sum(max_marks) over the item's responses.
    - facility_ci: Wilson 95% interval treating each available mark as one trial
      (n * max_marks trials). For 2-mark questions the two marks of one answer are not
      independent, so the interval is somewhat too narrow there; it is a screening aid.
    - discrimination: Pearson r between the item score and the script's total MINUS that item
      (the "corrected" or item-rest correlation, so an item is not correlated with itself), over
      the scripts that answered it. NaN when fewer than 2 responses or either side is constant.
    - upper_lower: facility among top-group scripts that saw the item minus facility among
      bottom-group scripts that saw it (groups as in `_extreme_groups`); NaN if either is empty.
    - mark_distribution: counts of each whole mark 0..max over the item's responses (shows how
      markers use the 0/1/2 of a short answer).
    """
    _check_items(r, n_items)
    item, score = r.item, r.score
    n = np.bincount(item, minlength=n_items).astype(np.int64)
    sum_score = _sums(item, score, n_items)
    sum_max = _sums(item, r.max_marks, n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        facility = sum_score / sum_max

    totals = script_totals(r)
    rest = totals[r.script] - score
    discrimination = _grouped_correlation(item, score, rest, n, n_items)

    present = np.bincount(r.script, minlength=r.n_scripts) > 0
    upper, lower = _extreme_groups(totals, present, group_fraction)
    upper_lower = _group_facility(r, upper, n_items) - _group_facility(r, lower, n_items)

    return ItemStats(
        n=n,
        facility=facility,
        facility_ci=wilson_interval(sum_score, sum_max),
        discrimination=discrimination,
        upper_lower=upper_lower,
        mark_distribution=_mark_distribution(r, n_items),
    )


def _grouped_correlation(group: npt.NDArray[np.integer], x: FloatArray, y: FloatArray, n: IntArray, n_groups: int) -> FloatArray:
    """Pearson r of x and y within each group, two-pass (centred) for accuracy on large counts."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = _sums(group, x, n_groups) / n
        my = _sums(group, y, n_groups) / n
        dx = x - mx[group]
        dy = y - my[group]
        sxx = _sums(group, dx * dx, n_groups)
        syy = _sums(group, dy * dy, n_groups)
        sxy = _sums(group, dx * dy, n_groups)
        # Whole-mark data gives exact zeros for a constant side; the tolerance guards fractions.
        tol_x = 1e-12 * n * np.maximum(1.0, mx * mx)
        tol_y = 1e-12 * n * np.maximum(1.0, my * my)
        defined = (n >= 2) & (sxx > tol_x) & (syy > tol_y)
        r = np.where(defined, sxy / np.sqrt(sxx * syy), np.nan)
    return np.clip(r, -1.0, 1.0)


def _group_facility(r: Responses, in_group: npt.NDArray[np.bool_], n_items: int) -> FloatArray:
    rows = in_group[r.script]
    got = _sums(r.item[rows], r.score[rows], n_items)
    available = _sums(r.item[rows], r.max_marks[rows], n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(available > 0, got / available, np.nan)


def _mark_distribution(r: Responses, n_items: int) -> IntArray:
    marks = np.rint(r.score)
    if np.any(marks != r.score):
        raise OutOfRange("mark distribution needs whole marks")
    width = int(r.max_marks.max()) + 1 if r.max_marks.size else 1
    cells = r.item.astype(np.int64) * width + marks.astype(np.int64)
    counts = np.bincount(cells, minlength=n_items * width)
    return counts.reshape(n_items, width).astype(np.int64)


def distractors(
    r: Responses,
    n_items: int,
    n_options: int = 4,
    group_fraction: float = 0.27,
    *,
    key: npt.NDArray[np.integer] | None = None,
) -> Distractors:
    """Option choice shares per MCQ item, overall and in the top/bottom groups.

    A good distractor draws more of the bottom group than of the top; one that nobody chooses is
    not doing its job and makes the question easier than it looks. Groups are the same top and
    bottom scripts by total as `item_statistics` uses. Pass `key` (the correct option per item)
    when it is known; otherwise it is read from the data as the option that earned full marks.
    """
    if r.choice is None:
        raise DomainError("distractor analysis needs the option each candidate chose")
    _check_items(r, n_items)
    choice = r.choice.astype(np.int64)
    if choice.size and (choice.min() < -2 or choice.max() >= n_options):
        raise OutOfRange(f"choice must be -2 (not MCQ), -1 (blank) or 0..{n_options - 1}")
    width = n_options + 1
    mcq = choice >= -1
    cells = r.item.astype(np.int64) * width + np.where(choice == -1, n_options, choice)

    def shares(rows: npt.NDArray[np.bool_]) -> tuple[IntArray, FloatArray]:
        counts = np.bincount(cells[rows], minlength=n_items * width).reshape(n_items, width)
        total = counts.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total.astype(np.int64), counts / total[:, None]

    totals = script_totals(r)
    present = np.bincount(r.script, minlength=r.n_scripts) > 0
    upper, lower = _extreme_groups(totals, present, group_fraction)
    n, overall = shares(mcq)
    _, up = shares(mcq & upper[r.script])
    _, low = shares(mcq & lower[r.script])

    if key is None:
        right = mcq & (choice >= 0) & (r.score >= r.max_marks)
        kc = np.bincount(
            r.item[right].astype(np.int64) * n_options + choice[right],
            minlength=n_items * n_options,
        ).reshape(n_items, n_options)
        found = np.where(kc.max(axis=1) > 0, kc.argmax(axis=1), -1).astype(np.int64)
    else:
        found = np.asarray(key, dtype=np.int64)
        if found.shape != (n_items,):
            raise DomainError("key must give one option per item")
    return Distractors(n=n, key=found, overall=overall, upper=up, lower=low)


def _score_matrix(matrix: npt.ArrayLike, what: str) -> FloatArray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        raise OutOfRange(f"{what} needs at least 2 scripts and 2 items")
    if not np.all(np.isfinite(m)):
        raise OutOfRange(f"{what} needs a complete matrix (drop scripts with missing items)")
    return m


def cronbach_alpha(matrix: npt.ArrayLike) -> float:
    """Cronbach's alpha for a complete scripts x items score matrix.

    alpha = k/(k-1) * (1 - sum of item variances / variance of totals). It estimates how much of
    the spread in totals is consistent across items rather than noise; NaN when totals do not
    vary (alpha is undefined, not zero).
    """
    m = _score_matrix(matrix, "alpha")
    k = int(m.shape[1])
    total_var = float(m.sum(axis=1).var(ddof=1))
    if total_var == 0.0:
        return math.nan
    return k / (k - 1) * (1.0 - float(m.var(axis=0, ddof=1).sum()) / total_var)


def kr20(binary_matrix: npt.ArrayLike) -> float:
    """Kuder-Richardson 20: alpha's special case for right/wrong items, sum(pq) for the variances.

    Kept alongside alpha because reports and older bank documentation quote KR-20 for MCQ-only
    papers; on 0/1 data the two are the same number.
    """
    m = _score_matrix(binary_matrix, "KR-20")
    if not np.all((m == 0) | (m == 1)):
        raise OutOfRange("KR-20 needs 0/1 scores")
    k = int(m.shape[1])
    p = m.mean(axis=0)
    total_var = float(m.sum(axis=1).var(ddof=0))
    if total_var == 0.0:
        return math.nan
    return k / (k - 1) * (1.0 - float((p * (1.0 - p)).sum()) / total_var)


def sem(totals: npt.ArrayLike, reliability: float) -> float:
    """Standard error of measurement: SD(totals) * sqrt(1 - reliability).

    SD is the sample SD (n - 1). The SEM says how far a candidate's mark could move on a re-sit
    of an equivalent paper, which is why scripts near a grade boundary get a second marking.
    A negative reliability (alpha below 0: the positions do not measure one thing, or too few
    scripts) has no SEM: the formula would give one larger than the SD itself, which no error
    of measurement can be. It is NaN here and flagged where reliability is reported.
    """
    t = np.asarray(totals, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise OutOfRange("SEM needs at least 2 totals")
    if reliability > 1.0:
        raise OutOfRange("reliability cannot exceed 1")
    if reliability < 0.0:
        return math.nan
    return float(t.std(ddof=1)) * math.sqrt(1.0 - reliability)


def score_distribution(totals: npt.ArrayLike, max_total: int) -> IntArray:
    """How many scripts got each total 0..max_total (for the histogram against the boundaries)."""
    t = np.asarray(totals, dtype=np.float64)
    whole = np.rint(t)
    if np.any(whole != t) or np.any(t < 0) or np.any(t > max_total):
        raise OutOfRange(f"totals must be whole marks in 0..{max_total}")
    return np.bincount(whole.astype(np.int64), minlength=max_total + 1).astype(np.int64)


def position_matrix(
    r: Responses,
    questions_per_script: int,
    position: npt.NDArray[np.integer] | None = None,
) -> FloatArray:
    """Scripts x paper positions score matrix, for the reliability of a sitting.

    Every candidate answers different questions, so there is no common scripts x items matrix.
    We treat paper POSITIONS as the items instead: position p is "whichever question of this
    blueprint slot was drawn". That assumes the random papers are randomly parallel forms (each
    slot is drawn from the same pool, so its questions are exchangeable across scripts). Alpha on
    this matrix estimates the reliability of a randomly drawn paper; item-level differences
    between drawn questions become error, so it tends to be a little lower than a fixed form's.

    `position` (or `r.position`) gives each response's 0-based position. Positions a script did
    not answer are NaN; drop such rows before `cronbach_alpha`.
    """
    pos = position if position is not None else r.position
    if pos is None:
        raise DomainError("position matrix needs each response's position on the paper")
    pos = np.asarray(pos, dtype=np.int64)
    if pos.shape != r.script.shape:
        raise DomainError("position must have one entry per response")
    if pos.size and (pos.min() < 0 or pos.max() >= questions_per_script):
        raise OutOfRange(f"position must be in 0..{questions_per_script - 1}")
    cells = r.script.astype(np.int64) * questions_per_script + pos
    size = r.n_scripts * questions_per_script
    if np.any(np.bincount(cells, minlength=size) > 1):
        raise DomainError("a script has two responses at the same position")
    out = np.full(size, np.nan)
    out[cells] = r.score
    return out.reshape(r.n_scripts, questions_per_script)


def flag_items(
    stats: ItemStats,
    distractors: Distractors | None,
    *,
    min_responses: int = 30,
    easy: float = 0.9,
    hard: float = 0.2,
    low_discrimination: float = LOW_DISCRIMINATION,
    marker_agreement: npt.NDArray[np.floating] | None = None,
    weak_agreement: float = 0.7,
    unused_share: float = 0.05,
) -> list[list[str]]:
    """Per item, the review flags it earns (codes from FLAG_CODES), in that order.

    No flags at all below `min_responses`: with a handful of responses the numbers are noise and
    a flag would send a reviewer after nothing. Otherwise:
    too_easy facility > easy; too_hard facility < hard; negative_discrimination r < 0 (stronger
    candidates do worse: a wrong key or a misleading stem); low_discrimination 0 <= r <
    low_discrimination; unused_distractor a wrong option chosen by nobody or by fewer than
    `unused_share` of the item's MCQ responses (Haladyna and Downing's 5%); weak_marker_agreement
    `marker_agreement[i]` (exact agreement between first and second marks, NaN where none)
    below `weak_agreement`. NaN statistics raise no flag.
    """
    n_items = stats.n.shape[0]
    if marker_agreement is not None and np.shape(marker_agreement) != (n_items,):
        raise DomainError("marker_agreement must give one value per item")
    flags: list[list[str]] = []
    for i in range(n_items):
        found: list[str] = []
        if stats.n[i] < min_responses:
            flags.append(found)
            continue
        f, d = stats.facility[i], stats.discrimination[i]
        if f > easy:
            found.append("too_easy")
        if f < hard:
            found.append("too_hard")
        if 0.0 <= d < low_discrimination:
            found.append("low_discrimination")
        if d < 0.0:
            found.append("negative_discrimination")
        if distractors is not None and distractors.n[i] > 0 and distractors.key[i] >= 0:
            shares = distractors.overall[i, :-1]  # the last column is "blank"
            wrong = np.arange(shares.size) != distractors.key[i]
            if np.any(wrong & ((shares == 0.0) | (shares < unused_share))):
                found.append("unused_distractor")
        if marker_agreement is not None and marker_agreement[i] < weak_agreement:
            found.append("weak_marker_agreement")
        flags.append(found)
    return flags
