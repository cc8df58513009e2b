"""The paper assembler: every paper keeps the blueprint, or the bank's shortfall is named."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Collection, Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testengine.domain.errors import DomainError
from testengine.domain.papers import (
    DifficultyTarget,
    ExposureCounts,
    Item,
    ItemPool,
    Paper,
    PaperShortfall,
    Shortfall,
    draw_paper,
    new_seed,
    papers_without_repeat,
)
from testengine.domain.standards import Blueprint, TypeQuota

MARKS = {"mcq": 1, "short_answer": 2}
ST0663_KSBS = ("K3", "K9", "K10", "K11", "K14", "K15", "K16", "K17", "K19", "S8")


def mcq(item_id: str, *ksb: str, enemies: Collection[str] = (), version: int = 1) -> Item:
    return Item(item_id, version, "mcq", tuple(ksb), 1, 4, frozenset(enemies))


def saq(item_id: str, *ksb: str, enemies: Collection[str] = (), version: int = 1) -> Item:
    return Item(item_id, version, "short_answer", tuple(ksb), 2, 0, frozenset(enemies))


def blueprint(n_mcq: int, n_saq: int, ksbs: Sequence[str]) -> Blueprint:
    return Blueprint({"mcq": TypeQuota(n_mcq, 1), "short_answer": TypeQuota(n_saq, 2)}, tuple(ksbs))


def bank(size: int, ksbs: Sequence[str], *, seed: int = 0, mcq_share: float = 0.35) -> list[Item]:
    """A bank with types in the blueprint's proportions and KSBs spread evenly."""
    rnd = random.Random(seed)
    items = []
    for i in range(size):
        codes = tuple(dict.fromkeys([ksbs[i % len(ksbs)], rnd.choice(ksbs)]))
        make = mcq if rnd.random() < mcq_share else saq
        items.append(make(f"Q{i:05d}", *codes))
    return items


def assert_valid(paper: Paper, items: Sequence[Item], bp: Blueprint, seen: Collection[str] = ()) -> None:
    """Checks every rule from the items themselves, independent of how the draw works."""
    by_id = {}
    for item in items:
        if item.id not in by_id or item.version > by_id[item.id].version:
            by_id[item.id] = item
    ids = [q.item_id for q in paper.questions]
    assert len(ids) == len(set(ids)), "a question appears twice"
    assert not set(ids) & set(seen), "a seen question was drawn again"
    types = [q.type for q in paper.questions]
    expected = [t for t, quota in bp.quotas.items() for _ in range(quota.count)]
    assert types == expected, "types out of blueprint shape or order"
    covered: set[str] = set()
    for q in paper.questions:
        item = by_id[q.item_id]
        assert (q.version, q.type, q.marks, q.ksb) == (
            item.version,
            item.type,
            item.marks,
            item.ksb,
        )
        assert q.marks == bp.quotas[q.type].marks
        if item.option_count:
            assert q.option_order is not None
            assert sorted(q.option_order) == list(range(item.option_count))
        else:
            assert q.option_order is None
        covered.update(item.ksb)
    assert set(bp.required_ksbs) <= covered, "a required KSB is not sampled"
    for a, b in itertools.combinations(ids, 2):
        assert b not in by_id[a].enemies and a not in by_id[b].enemies, f"enemies {a} and {b}"
    assert sum(q.marks for q in paper.questions) == bp.total_marks


def some_paper_exists(items: Sequence[Item], bp: Blueprint, seen: Collection[str]) -> bool:
    """Brute force over every combination: the oracle for small banks."""
    usable = [it for it in items if it.id not in seen and it.type in bp.quotas and it.marks == bp.quotas[it.type].marks]
    per_type = [itertools.combinations([it for it in usable if it.type == t], q.count) for t, q in bp.quotas.items()]
    for combo in itertools.product(*per_type):
        chosen = [it for group in combo for it in group]
        if not set(bp.required_ksbs) <= {k for it in chosen for k in it.ksb}:
            continue
        if any(b.id in a.enemies or a.id in b.enemies for a, b in itertools.combinations(chosen, 2)):
            continue
        return True
    return False


BIG_BANK = bank(1500, ST0663_KSBS, seed=7)
# Some enemy pairs, each declared on one side only.
BIG_BANK = [
    Item(it.id, it.version, it.type, it.ksb, it.marks, it.option_count, frozenset({f"Q{i + 1:05d}"})) if i % 17 == 0 else it
    for i, it in enumerate(BIG_BANK)
]
POOL = ItemPool(BIG_BANK)


# --- generated banks and histories -------------------------------------------------------


@st.composite
def small_cases(draw: st.DrawFn) -> tuple[list[Item], Blueprint, set[str], int]:
    n = draw(st.integers(0, 12))
    ids = [f"Q{i:02d}" for i in range(n)]
    codes = ["K1", "K2", "K3", "B6"]
    items = []
    for item_id in ids:
        kind = draw(st.sampled_from(["mcq", "mcq", "short_answer", "short_answer", "essay"]))
        marks = MARKS.get(kind, 3)
        if draw(st.integers(0, 9)) == 0:
            marks += 1  # marks that do not fit the blueprint: never drawable
        ksb = tuple(draw(st.lists(st.sampled_from(codes), min_size=1, max_size=2, unique=True)))
        enemies = draw(st.lists(st.sampled_from(ids + ["GONE"]), max_size=2, unique=True))
        options = 4 if kind == "mcq" else 0
        items.append(Item(item_id, 1, kind, ksb, marks, options, frozenset(enemies)))
    bp = Blueprint(
        {
            "mcq": TypeQuota(draw(st.integers(0, 3)), 1),
            "short_answer": TypeQuota(draw(st.integers(0, 3)), 2),
        },
        tuple(draw(st.lists(st.sampled_from(["K1", "K2", "K3"]), max_size=3, unique=True))),
    )
    seen = set(draw(st.lists(st.sampled_from(ids + ["OLD-1"]), max_size=4)))
    seed = draw(st.integers(0, 2**63 - 1))
    return items, bp, seen, seed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_a_paper_is_drawn_exactly_when_one_exists_and_keeps_every_rule(case) -> None:
    items, bp, seen, seed = case
    exists = some_paper_exists(items, bp, seen)
    try:
        paper = draw_paper(items, bp, seed=seed, seen=seen)
    except PaperShortfall as short:
        assert not exists, "a shortfall was raised although a valid paper exists"
        for s in short.shortfalls:
            assert (s.type or s.ksb) in str(short)
        return
    assert exists
    assert paper.seed == seed
    assert_valid(paper, items, bp, seen)
    again = draw_paper(list(reversed(items)), bp, seed=seed, seen=list(seen))
    assert again == paper, "same bank, seed and history must give the same paper"


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    attempts=st.integers(0, 3),
    shuffle=st.randoms(use_true_random=False),
)
def test_papers_from_a_real_sized_bank_keep_every_rule_across_attempts(seed: int, attempts: int, shuffle: random.Random) -> None:
    items = BIG_BANK
    bp = blueprint(14, 26, ST0663_KSBS)
    seen: list[str] = []
    for attempt in range(attempts + 1):
        paper = draw_paper(POOL, bp, seed=seed + attempt, seen=seen)
        assert_valid(paper, items, bp, seen)
        shuffled = list(items)
        shuffle.shuffle(shuffled)
        assert draw_paper(shuffled, bp, seed=seed + attempt, seen=set(seen)) == paper
        seen += [q.item_id for q in paper.questions]


# --- shape, order, options, seeds ----------------------------------------------------------


def test_paper_order_is_blueprint_type_order_with_shuffled_options() -> None:
    bp = blueprint(14, 26, ST0663_KSBS)
    paper = draw_paper(POOL, bp, seed=11)
    assert [q.type for q in paper.questions] == ["mcq"] * 14 + ["short_answer"] * 26
    orders = {q.option_order for q in paper.questions if q.type == "mcq"}
    assert all(o is not None and sorted(o) == [0, 1, 2, 3] for o in orders)
    assert len(orders) > 1, "option order is shuffled per question"
    assert all(q.option_order is None for q in paper.questions if q.type == "short_answer")


def test_different_seeds_give_different_papers() -> None:
    bp = blueprint(14, 26, ST0663_KSBS)
    papers = [draw_paper(POOL, bp, seed=s) for s in range(25)]
    assert len({tuple(q.item_id for q in p.questions) for p in papers}) == 25
    assert len({frozenset(q.item_id for q in p.questions) for p in papers}) == 25


def test_item_order_and_pool_or_list_do_not_change_the_paper() -> None:
    bp = blueprint(14, 26, ST0663_KSBS)
    shuffled = list(BIG_BANK)
    random.Random(3).shuffle(shuffled)
    seen = [q.item_id for q in draw_paper(POOL, bp, seed=1).questions]
    expected = draw_paper(POOL, bp, seed=99, seen=seen)
    assert draw_paper(shuffled, bp, seed=99, seen=seen) == expected
    assert draw_paper(ItemPool(shuffled), bp, seed=99, seen=tuple(seen)) == expected


def test_types_outside_the_blueprint_and_misfit_marks_are_never_drawn() -> None:
    items = [saq(f"S{i}", "K1") for i in range(6)]
    items += [Item(f"E{i}", 1, "essay", ("K1",), 2) for i in range(6)]
    items += [Item(f"W{i}", 1, "short_answer", ("K1",), 3) for i in range(6)]
    bp = blueprint(0, 3, ["K1"])
    for seed in range(30):
        assert {q.item_id[0] for q in draw_paper(items, bp, seed=seed).questions} == {"S"}


def test_only_the_highest_version_of_a_question_is_drawable() -> None:
    items = [saq("A", "K1", version=1), saq("A", "K1", version=3), saq("B", "K1")]
    paper = draw_paper(items, blueprint(0, 2, ["K1"]), seed=5)
    assert sorted((q.item_id, q.version) for q in paper.questions) == [("A", 3), ("B", 1)]
    with pytest.raises(ValueError):
        ItemPool([saq("A", "K1"), saq("A", "K2")])


def test_enemies_declared_on_either_side_are_kept_apart() -> None:
    items = [saq("A", "K1", enemies={"B"}), saq("B", "K1"), saq("C", "K1", enemies={"A"})]
    bp = blueprint(0, 2, ["K1"])
    for seed in range(40):
        assert {q.item_id for q in draw_paper(items, bp, seed=seed).questions} == {"B", "C"}


def test_unknown_seen_ids_are_ignored_and_seen_ids_never_drawn() -> None:
    items = [saq(f"S{i}", "K1") for i in range(5)]
    paper = draw_paper(items, blueprint(0, 2, ["K1"]), seed=1, seen={"S0", "S1", "S2", "RETIRED"})
    assert {q.item_id for q in paper.questions} == {"S3", "S4"}


def test_a_rare_ksb_is_always_covered() -> None:
    items = [saq(f"S{i:03d}", "K1") for i in range(300)] + [saq("RARE", "K2")]
    bp = blueprint(0, 5, ["K1", "K2"])
    for seed in range(20):
        assert "RARE" in {q.item_id for q in draw_paper(items, bp, seed=seed).questions}


def test_new_seed_is_63_bit_and_reproducible_with_entropy() -> None:
    assert new_seed(1234) == new_seed(1234)
    assert new_seed(1234) != new_seed(1235)
    fresh = {new_seed() for _ in range(20)}
    assert len(fresh) == 20
    assert all(0 <= s < 2**63 for s in fresh | {new_seed(0)})


def test_a_negative_seed_or_a_bare_id_as_seen_is_refused() -> None:
    with pytest.raises(ValueError):
        draw_paper([saq("A", "K1")], blueprint(0, 1, ["K1"]), seed=-1)
    with pytest.raises(TypeError):
        draw_paper([saq("A", "K1")], blueprint(0, 1, ["K1"]), seed=1, seen="A")


# --- shortfalls ----------------------------------------------------------------------------


def test_a_type_that_runs_out_is_named_with_how_many_short() -> None:
    items = [mcq(f"M{i:02d}", ST0663_KSBS[i % 10]) for i in range(20)]
    items += [saq(f"S{i:02d}", ST0663_KSBS[i % 10]) for i in range(23)]
    with pytest.raises(PaperShortfall) as caught:
        draw_paper(items, blueprint(14, 26, ST0663_KSBS), seed=1)
    error = caught.value
    assert isinstance(error, DomainError) and error.code == "bank_shortfall"
    assert error.shortfalls == (Shortfall("short_answer", None, 26, 23),)
    assert "short_answer: 26 needed, 23 unseen available (3 short)" in str(error)


def test_a_ksb_exhausted_after_two_papers_is_named() -> None:
    # Two K17 questions that are enemies: each paper takes exactly one of them.
    items = [saq("K17-A", "K17", enemies={"K17-B"}), saq("K17-B", "K17")]
    items += [saq(f"S{i:02d}", "K3") for i in range(30)] + [mcq(f"M{i:02d}", "K3") for i in range(9)]
    bp = blueprint(3, 4, ["K3", "K17"])
    seen: list[str] = []
    for seed in (1, 2):
        paper = draw_paper(items, bp, seed=seed, seen=seen)
        assert_valid(paper, items, bp, seen)
        seen += [q.item_id for q in paper.questions]
    with pytest.raises(PaperShortfall) as caught:
        draw_paper(items, bp, seed=3, seen=seen)
    assert caught.value.shortfalls == (Shortfall(None, "K17", 1, 0),)
    assert "K17: no unseen item available (1 short)" in str(caught.value)


def test_every_shortfall_is_listed_in_one_message() -> None:
    items = [mcq("M1", "K3"), saq("S1", "K3"), saq("S2", "K3")]
    with pytest.raises(PaperShortfall) as caught:
        draw_paper(items, blueprint(2, 3, ["K3", "K9", "S8"]), seed=1)
    message = str(caught.value)
    for part in (
        "mcq: 2 needed, 1 unseen available (1 short)",
        "short_answer: 3 needed, 2 unseen available (1 short)",
        "K9: no unseen item available (1 short)",
        "S8: no unseen item available (1 short)",
    ):
        assert part in message
    assert len(caught.value.shortfalls) == 4


def test_enemies_that_leave_too_few_raise_rather_than_pair_up() -> None:
    items = [saq("A", "K1", enemies={"B", "C"}), saq("B", "K1", enemies={"C"}), saq("C", "K1")]
    with pytest.raises(PaperShortfall) as caught:
        draw_paper(items, blueprint(0, 2, ["K1"]), seed=1)
    assert caught.value.shortfalls == (Shortfall("short_answer", None, 2, 1),)
    assert "short_answer" in str(caught.value) and "Enemy" in str(caught.value)


def test_type_counts_that_leave_a_ksb_uncoverable_raise() -> None:
    # One MCQ slot, and K1 and K2 are each only on a different MCQ.
    items = [mcq("M1", "K1"), mcq("M2", "K2"), saq("S1", "K3")]
    with pytest.raises(PaperShortfall) as caught:
        draw_paper(items, blueprint(1, 1, ["K1", "K2"]), seed=1)
    assert {s.ksb for s in caught.value.shortfalls} & {"K1", "K2"}
    assert "(1 short)" in str(caught.value)


# --- exposure ------------------------------------------------------------------------------


def test_exposure_evens_out_use_over_2000_draws() -> None:
    items = bank(1000, ST0663_KSBS, seed=5, mcq_share=0.35)
    pool = ItemPool(items)
    bp = blueprint(14, 26, ST0663_KSBS)
    counts = ExposureCounts(pool)
    for seed in range(2000):
        counts.record(draw_paper(pool, bp, seed=seed, exposure=counts))
    per_type = {"mcq": [], "short_answer": []}
    for item in items:
        per_type[item.type].append(counts[item.id])
    for t, uses in per_type.items():
        mean = 2000 * bp.quotas[t].count / len(uses)
        assert np.mean(uses) == pytest.approx(mean)
        assert max(uses) <= 1.5 * mean, f"{t}: max {max(uses)} vs mean {mean:.1f}"
        assert min(uses) >= 0.5 * mean, f"{t}: min {min(uses)} vs mean {mean:.1f}"


def test_a_plain_mapping_and_exposure_counts_draw_the_same_paper() -> None:
    bp = blueprint(14, 26, ST0663_KSBS)
    plain = {it.id: (i * 7) % 5 for i, it in enumerate(BIG_BANK)}
    plain["RETIRED-1"] = 9
    counts = ExposureCounts(POOL, plain)
    assert counts[BIG_BANK[3].id] == plain[BIG_BANK[3].id]
    for seed in range(5):
        assert draw_paper(POOL, bp, seed=seed, exposure=plain) == draw_paper(POOL, bp, seed=seed, exposure=counts)
        assert draw_paper(BIG_BANK, bp, seed=seed, exposure=counts) == draw_paper(POOL, bp, seed=seed, exposure=plain)


def test_no_exposure_and_zero_exposure_are_the_same_uniform_draw() -> None:
    bp = blueprint(14, 26, ST0663_KSBS)
    zeros = {it.id: 0 for it in BIG_BANK}
    for seed in range(5):
        assert draw_paper(POOL, bp, seed=seed) == draw_paper(POOL, bp, seed=seed, exposure=zeros)
        assert draw_paper(POOL, bp, seed=seed) == draw_paper(POOL, bp, seed=seed, exposure={})


def test_heavily_used_items_are_avoided() -> None:
    items = [saq(f"S{i:03d}", "K1") for i in range(100)]
    used = {f"S{i:03d}": 5 for i in range(50)}
    drawn = Counter(
        q.item_id < "S050"
        for seed in range(50)
        for q in draw_paper(items, blueprint(0, 10, ["K1"]), seed=seed, exposure=used).questions
    )
    assert drawn[True] <= 0.05 * drawn[False]


# --- difficulty ----------------------------------------------------------------------------


def mean_facility(paper: Paper, facility: dict[str, float]) -> float:
    known = [(facility[q.item_id], q.marks) for q in paper.questions if q.item_id in facility]
    return sum(f * m for f, m in known) / sum(m for _, m in known)


FACILITY = {it.id: (0.3 if i % 2 else 0.9) for i, it in enumerate(BIG_BANK) if i % 10}


@pytest.mark.parametrize("target", [0.45, 0.6, 0.75])
def test_difficulty_target_brings_the_paper_mean_near_it(target: float) -> None:
    bp = blueprint(14, 26, ST0663_KSBS)
    aim = DifficultyTarget(mean_facility=target, facility=FACILITY, tolerance=0.02)
    for seed in range(15):
        paper = draw_paper(POOL, bp, seed=seed, difficulty_target=aim)
        assert_valid(paper, BIG_BANK, bp)
        assert abs(mean_facility(paper, FACILITY) - target) <= 0.02 + 1e-9


def test_difficulty_target_gets_as_near_as_it_can_when_out_of_reach() -> None:
    bp = blueprint(14, 26, ST0663_KSBS)
    aim = DifficultyTarget(mean_facility=0.95, facility=FACILITY)
    for seed in range(5):
        free = mean_facility(draw_paper(POOL, bp, seed=seed), FACILITY)
        steered = draw_paper(POOL, bp, seed=seed, difficulty_target=aim)
        assert_valid(steered, BIG_BANK, bp)
        assert mean_facility(steered, FACILITY) > free + 0.1


def test_difficulty_target_keeps_enemies_apart_and_ksbs_covered() -> None:
    items = [saq(f"S{i:02d}", "K1", enemies={f"S{i + 1:02d}"}) for i in range(30)]
    items += [saq("R1", "K2")]
    facility = {it.id: 0.2 + 0.025 * i for i, it in enumerate(items)}
    bp = blueprint(0, 6, ["K1", "K2"])
    aim = DifficultyTarget(mean_facility=0.9, facility=facility, tolerance=0.0)
    for seed in range(20):
        assert_valid(draw_paper(items, bp, seed=seed, difficulty_target=aim), items, bp)


def test_difficulty_target_is_validated() -> None:
    with pytest.raises(ValueError):
        DifficultyTarget(mean_facility=1.2, facility={})
    with pytest.raises(ValueError):
        DifficultyTarget(mean_facility=0.5, facility={}, tolerance=-0.1)


# --- papers without repeat -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_mcq", "n_saq", "expected"),
    [(28, 52, 2), (30, 55, 2), (27, 80, 1), (42, 77, 2), (13, 100, 0), (70, 130, 5)],
)
def test_papers_without_repeat_is_limited_by_each_types_count(n_mcq: int, n_saq: int, expected: int) -> None:
    items = [mcq(f"M{i:03d}", "K3") for i in range(n_mcq)]
    items += [saq(f"S{i:03d}", "K3") for i in range(n_saq)]
    assert papers_without_repeat(items, blueprint(14, 26, ["K3"])) == expected


def test_papers_without_repeat_is_limited_by_a_scarce_ksb() -> None:
    # Three K17 questions, all enemies of each other: every paper uses exactly one.
    rare = [saq(f"K17-{c}", "K17", enemies={f"K17-{d}" for d in "ABC" if d != c}) for c in "ABC"]
    items = rare + [mcq(f"M{i:03d}", "K3") for i in range(100)]
    items += [saq(f"S{i:03d}", "K3") for i in range(200)]
    assert papers_without_repeat(items, blueprint(14, 26, ["K3", "K17"])) == 3


def test_papers_without_repeat_respects_enemy_pairs() -> None:
    # Two enemy pairs and two slots: each paper takes one of each pair, so two papers.
    items = [
        saq("A", "K1", enemies={"B"}),
        saq("B", "K1"),
        saq("C", "K1", enemies={"D"}),
        saq("D", "K1"),
    ]
    assert papers_without_repeat(items, blueprint(0, 2, ["K1"])) == 2
    # Three questions, one enemy pair: the first paper must use the free one, then none is left.
    items = [saq("A", "K1", enemies={"B"}), saq("B", "K1"), saq("C", "K1")]
    assert papers_without_repeat(items, blueprint(0, 2, ["K1"])) == 1


def test_papers_without_repeat_on_an_empty_bank_is_zero() -> None:
    assert papers_without_repeat([], blueprint(14, 26, ["K3"])) == 0


def test_papers_without_repeat_refuses_an_empty_blueprint() -> None:
    with pytest.raises(ValueError):
        papers_without_repeat([saq("A", "K1")], blueprint(0, 0, []))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_papers_without_repeat_is_achievable_and_never_above_the_bound(case) -> None:
    items, bp, _seen, _seed = case
    if bp.question_count == 0:
        return
    n = papers_without_repeat(items, bp)
    assert (n > 0) == some_paper_exists(items, bp, ())
    usable = Counter(it.type for it in items if it.type in bp.quotas and it.marks == bp.quotas[it.type].marks)
    for t, quota in bp.quotas.items():
        if quota.count:
            assert n * quota.count <= usable[t]


# --- rules pinned by mutation testing -------------------------------------------------------


def test_seeds_use_all_63_bits() -> None:
    seeds = [new_seed(entropy) for entropy in range(64)]
    assert max(seeds) >= 2**62  # the top bit of the 63 is used
    assert all(s >= 2**32 for s in seeds[:8])  # not a 32-bit seed


def test_a_shortfall_with_enough_available_is_nought_short() -> None:
    assert Shortfall("mcq", None, 2, 5).describe() == "mcq: 2 needed, 5 unseen available (0 short)"
    assert Shortfall(None, "K17", 1, 0).describe() == "K17: no unseen item available (1 short)"


def test_a_shortfall_message_lists_what_ran_out_and_nothing_else() -> None:
    assert str(PaperShortfall([])) == ("Cannot draw a paper from this bank: no paper fits the blueprint.")
    one = PaperShortfall([Shortfall("mcq", None, 14, 3)])
    assert str(one) == "Cannot draw a paper from this bank: mcq: 14 needed, 3 unseen available (11 short)."
    assert one.code == "bank_shortfall"
    noted = PaperShortfall([], note="Add questions.")
    assert str(noted).endswith("blueprint. Add questions.")


@pytest.mark.parametrize(("mean", "tolerance"), [(0.0, 0.0), (1.0, 0.0), (0.5, 0.99)])
def test_difficulty_targets_at_the_ends_of_the_scale_are_allowed(mean: float, tolerance: float) -> None:
    assert DifficultyTarget(mean, {}, tolerance).mean_facility == mean


@pytest.mark.parametrize(
    ("mean", "tolerance", "message"),
    [
        (-0.1, 0.02, "mean_facility must be between 0 and 1, not -0.1"),
        (1.1, 0.02, "mean_facility must be between 0 and 1, not 1.1"),
        (0.5, 1.0, "tolerance must be between 0 and 1, not 1.0"),
        (0.5, -0.01, "tolerance must be between 0 and 1, not -0.01"),
    ],
)
def test_difficulty_targets_off_the_scale_are_refused(mean: float, tolerance: float, message: str) -> None:
    with pytest.raises(ValueError) as err:
        DifficultyTarget(mean, {}, tolerance)
    assert str(err.value) == message


def test_papers_without_repeat_counts_whole_papers() -> None:
    # Five questions, two a paper: two papers, not two and a half.
    items = [mcq(f"M{i}", "K1") for i in range(5)]
    n = papers_without_repeat(items, blueprint(2, 0, ["K1"]))
    assert n == 2 and isinstance(n, int)
    assert papers_without_repeat(ItemPool(items), blueprint(2, 0, ["K1"])) == 2


def test_papers_without_repeat_says_the_blueprint_is_empty() -> None:
    with pytest.raises(ValueError) as err:
        papers_without_repeat([saq("A", "K1")], blueprint(0, 0, []))
    assert str(err.value) == "the blueprint asks for no questions"
