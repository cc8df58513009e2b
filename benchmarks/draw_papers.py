"""Drawing ST0663 papers from a 10,000-question bank.

The bank: 3,500 MCQ (1 mark, 4 options) and 6,500 short answers (2 marks), the same 14:26 split
as the paper, each question on one of the 10 knowledge-test KSBs (spread evenly) and 30% on a
second one too; 2% of questions sit in an enemy pair with another on the same KSB. The
blueprint is ST0663's: 14 MCQ x 1 mark + 26 short answers x 2 marks, all 10 KSBs required.

Timed, one process on one core:
- draw_paper from a prebuilt ItemPool for apprentices with 0, 1 and 2 earlier attempts (their
  earlier papers' questions as `seen`); each apprentice's history is drawn first, not timed;
- the same with a plain dict of exposure counts, and with ExposureCounts;
- 10,000 successive draws with exposure fed back: how evenly the bank is used (and, for
  contrast, the same without exposure);
- draws steered toward a DifficultyTarget;
- a plain-Python reference draw (loops over the item list, same rules, greedy, Python's own
  random) side by side, its papers checked against the same rule checker.

Run: python -m benchmarks.draw_papers
"""

from __future__ import annotations

import math
import os
import random
import statistics
import time
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np

from benchmarks.report import machine_line, write_section
from testengine.domain.papers import (
    DifficultyTarget,
    DrawnQuestion,
    ExposureCounts,
    Item,
    ItemPool,
    Paper,
    PaperShortfall,
    Shortfall,
    draw_paper,
    papers_without_repeat,
)
from testengine.domain.standards import Blueprint, TypeQuota

KSBS = ("K3", "K9", "K10", "K11", "K14", "K15", "K16", "K17", "K19", "S8")
BLUEPRINT = Blueprint({"mcq": TypeQuota(14, 1), "short_answer": TypeQuota(26, 2)}, KSBS)
N_MCQ, N_SAQ = 3_500, 6_500
SECOND_KSB_SHARE = 0.30
ENEMY_SHARE = 0.02
BANK_SEED = 20_663
APPRENTICES = 300  # per number of earlier attempts
REFERENCE_APPRENTICES = 40
EXPOSURE_DRAWS = 10_000


def make_bank(seed: int = BANK_SEED) -> list[Item]:
    rnd = random.Random(seed)
    specs: list[tuple[str, str, tuple[str, ...]]] = []
    for kind, count in (("mcq", N_MCQ), ("short_answer", N_SAQ)):
        tag = "MCQ" if kind == "mcq" else "SA"
        for n in range(count):
            main = KSBS[n % len(KSBS)]
            codes = [main]
            if rnd.random() < SECOND_KSB_SHARE:
                codes.append(rnd.choice([k for k in KSBS if k != main]))
            specs.append((f"ST0663-{main}-{tag}-{n // len(KSBS):04d}", kind, tuple(codes)))
    enemies: dict[str, set[str]] = {item_id: set() for item_id, _, _ in specs}
    by_ksb: dict[str, list[str]] = {}
    for item_id, _, codes in specs:
        by_ksb.setdefault(codes[0], []).append(item_id)
    for ids in by_ksb.values():
        picked = rnd.sample(ids, int(len(ids) * ENEMY_SHARE) // 2 * 2)
        for a, b in zip(picked[::2], picked[1::2]):
            enemies[a].add(b)  # declared on one side only: the draw must honour either side
    items = [
        Item(
            item_id,
            1,
            kind,
            codes,
            1 if kind == "mcq" else 2,
            4 if kind == "mcq" else 0,
            frozenset(enemies[item_id]),
        )
        for item_id, kind, codes in specs
    ]
    rnd.shuffle(items)  # the order a query might return them in
    return items


# --- the plain-Python reference ------------------------------------------------------------


def reference_draw(
    items: Sequence[Item],
    blueprint: Blueprint,
    *,
    seed: int,
    seen: Collection[str] = (),
    exposure: Mapping[str, int] | None = None,
) -> Paper:
    """The same rules written the straightforward way: loops over the item list on every call.

    Greedy (cover each KSB with its first usable item in priority order, then fill each type),
    without the exact search, so on a starved bank it can give up where draw_paper would not.
    """
    rnd = random.Random(seed)
    latest: dict[str, Item] = {}
    for item in items:
        if item.id not in latest or item.version > latest[item.id].version:
            latest[item.id] = item
    ordered = sorted(latest.values(), key=lambda it: it.id)
    enemy_of: dict[str, set[str]] = {it.id: set() for it in ordered}
    for item in ordered:
        for other in item.enemies:
            if other in enemy_of:
                enemy_of[item.id].add(other)
                enemy_of[other].add(item.id)
    seen_ids = set(seen)
    quotas = {t: q for t, q in blueprint.quotas.items() if q.count > 0}
    usable = [it for it in ordered if it.id not in seen_ids and it.type in quotas and it.marks == quotas[it.type].marks]
    shortfalls = []
    for t, q in quotas.items():
        have = sum(1 for it in usable if it.type == t)
        if have < q.count:
            shortfalls.append(Shortfall(t, None, q.count, have))
    for k in blueprint.required_ksbs:
        if not any(k in it.ksb for it in usable):
            shortfalls.append(Shortfall(None, k, 1, 0))
    if shortfalls:
        raise PaperShortfall(shortfalls)

    priority: dict[str, float] = {}
    for it in usable:
        e = rnd.expovariate(1.0)
        if exposure:
            priority[it.id] = math.log(e) + exposure.get(it.id, 0) if e > 0 else -math.inf
        else:
            priority[it.id] = e
    ranked = sorted(usable, key=lambda it: priority[it.id])

    chosen: list[Item] = []
    chosen_ids: set[str] = set()
    counts = {t: 0 for t in quotas}

    def fits(it: Item) -> bool:
        return it.id not in chosen_ids and counts[it.type] < quotas[it.type].count and not enemy_of[it.id] & chosen_ids

    def take(it: Item) -> None:
        chosen.append(it)
        chosen_ids.add(it.id)
        counts[it.type] += 1

    for k in blueprint.required_ksbs:
        if any(k in it.ksb for it in chosen):
            continue
        for it in ranked:
            if k in it.ksb and fits(it):
                take(it)
                break
        else:
            raise PaperShortfall([Shortfall(None, k, 1, 0)])
    for t, q in quotas.items():
        for it in ranked:
            if counts[t] == q.count:
                break
            if it.type == t and fits(it):
                take(it)
        if counts[t] < q.count:
            raise PaperShortfall([Shortfall(t, None, q.count, counts[t])])

    questions = []
    for t in quotas:
        group = [it for it in chosen if it.type == t]
        rnd.shuffle(group)
        for it in group:
            order = tuple(rnd.sample(range(it.option_count), it.option_count)) if it.option_count else None
            questions.append(DrawnQuestion(it.id, it.version, it.type, it.marks, it.ksb, order))
    return Paper(seed, tuple(questions))


# --- checking and timing -------------------------------------------------------------------


def check(paper: Paper, by_id: Mapping[str, Item], seen: Collection[str]) -> None:
    """Every rule, checked from the items themselves."""
    ids = [q.item_id for q in paper.questions]
    assert len(set(ids)) == len(ids), "repeated question"
    assert not set(ids) & set(seen), "seen question drawn"
    assert [q.type for q in paper.questions] == ["mcq"] * 14 + ["short_answer"] * 26, "shape"
    assert all(q.marks == BLUEPRINT.quotas[q.type].marks for q in paper.questions), "marks"
    assert set(KSBS) <= {k for q in paper.questions for k in q.ksb}, "KSB not covered"
    on_paper = set(ids)
    for q in paper.questions:
        item = by_id[q.item_id]
        assert not item.enemies & on_paper, "enemies together"
        if item.option_count:
            assert q.option_order is not None and sorted(q.option_order) == [0, 1, 2, 3]
        else:
            assert q.option_order is None


def histories(pool: ItemPool, attempts: int, count: int, seed: int) -> list[list[str]]:
    """`count` apprentices' seen ids after `attempts` earlier papers (drawn, not timed)."""
    out = []
    for a in range(count):
        seen: list[str] = []
        for k in range(attempts):
            paper = draw_paper(pool, BLUEPRINT, seed=seed + 1_000 * a + k, seen=seen)
            seen += [q.item_id for q in paper.questions]
        out.append(seen)
    return out


def per_draw_ms(draw: Callable[[int, list[str]], Paper], cases: list[list[str]], seed: int) -> list[float]:
    times = []
    for n, seen in enumerate(cases):
        start = time.perf_counter_ns()
        draw(seed + n, seen)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def summary(times: list[float]) -> tuple[float, float, float]:
    """Mean, median and 99th percentile, in ms."""
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.fmean(times), statistics.median(times), p99


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity)"


def main() -> str:
    started = time.perf_counter()
    pinned = pin_to_one_core()
    items = make_bank()
    by_id = {it.id: it for it in items}
    t0 = time.perf_counter()
    pool = ItemPool(items)
    draw_paper(pool, BLUEPRINT, seed=0)  # builds the blueprint index, kept by the pool
    build_ms = (time.perf_counter() - t0) * 1e3

    rows = []
    ratios = []
    reference_ok = 0
    for attempts in (0, 1, 2):
        cases = histories(pool, attempts, APPRENTICES, seed=attempts * 100_000 + 7)
        fast = per_draw_ms(lambda s, seen: draw_paper(pool, BLUEPRINT, seed=s, seen=seen), cases, 1)
        for n, seen in enumerate(cases[:50]):
            check(draw_paper(pool, BLUEPRINT, seed=1 + n, seen=seen), by_id, seen)
        ref_cases = cases[:REFERENCE_APPRENTICES]
        slow = per_draw_ms(lambda s, seen: reference_draw(items, BLUEPRINT, seed=s, seen=seen), ref_cases, 1)
        for n, seen in enumerate(ref_cases):
            check(reference_draw(items, BLUEPRINT, seed=1 + n, seen=seen), by_id, seen)
            reference_ok += 1
        f_mean, f_med, f_p99 = summary(fast)
        s_mean = statistics.fmean(slow)
        ratios.append(s_mean / f_mean)
        rows.append(
            f"| {attempts} ({len(cases[0])} seen) | {1e3 / f_mean:,.0f} | {f_mean:.3f} | {f_med:.3f} "
            f"| {f_p99:.3f} | {s_mean:.1f} | {s_mean / f_mean:.0f}x |"
        )

    # Exposure fed back over 10,000 successive draws (prior attempts: none; each a new apprentice).
    counts = ExposureCounts(pool)
    exposure_times = []
    for s in range(EXPOSURE_DRAWS):
        t = time.perf_counter_ns()
        paper = draw_paper(pool, BLUEPRINT, seed=s, exposure=counts)
        exposure_times.append((time.perf_counter_ns() - t) / 1e6)
        counts.record(paper)
    use = {t: np.array([counts[it.id] for it in pool.items if it.type == t]) for t in ("mcq", "short_answer")}
    every = np.concatenate(list(use.values()))
    e_mean, e_med, e_p99 = summary(exposure_times)
    for n in range(20):
        check(draw_paper(pool, BLUEPRINT, seed=10**6 + n, exposure=counts), by_id, ())

    # For contrast: the same number of draws with no exposure (a uniform draw each time).
    uniform = ExposureCounts(pool)
    for s in range(EXPOSURE_DRAWS):
        uniform.record(draw_paper(pool, BLUEPRINT, seed=s))
    uniform_use = np.array([uniform[it.id] for it in pool.items])

    # Steering toward a difficulty target, with a facility for 90% of the bank.
    frnd = random.Random(5)
    facility = {it.id: frnd.uniform(0.2, 0.9) for it in items if frnd.random() < 0.9}
    aim = DifficultyTarget(mean_facility=0.62, facility=facility, tolerance=0.01)
    steered_times = []
    steered_gap = []
    for s in range(300):
        t = time.perf_counter_ns()
        paper = draw_paper(pool, BLUEPRINT, seed=s, difficulty_target=aim)
        steered_times.append((time.perf_counter_ns() - t) / 1e6)
        check(paper, by_id, ())
        known = [(facility[q.item_id], q.marks) for q in paper.questions if q.item_id in facility]
        mean = sum(f * m for f, m in known) / sum(m for _, m in known)
        steered_gap.append(abs(mean - aim.mean_facility))

    # The same with the exposure as a plain dict (what a database query would hand over).
    plain = dict(counts)
    dict_times = per_draw_ms(lambda s, _seen: draw_paper(pool, BLUEPRINT, seed=s, exposure=plain), [[]] * 300, 5)
    ref_exposure = per_draw_ms(lambda s, _seen: reference_draw(items, BLUEPRINT, seed=s, exposure=plain), [[]] * 20, 5)
    from_list = per_draw_ms(lambda s, _seen: draw_paper(items, BLUEPRINT, seed=s), [[]] * 20, 5)

    t0 = time.perf_counter()
    in_a_row = papers_without_repeat(pool, BLUEPRINT)
    in_a_row_s = time.perf_counter() - t0
    bound = min(N_MCQ // 14, N_SAQ // 26)

    d_mean = statistics.fmean(dict_times)
    r_mean = statistics.fmean(ref_exposure)
    total_s = time.perf_counter() - started
    lines = [
        "## Drawing papers (`python -m benchmarks.draw_papers`)",
        "",
        machine_line(),
        "",
        (
            f"Bank: 10,000 questions ({N_MCQ:,} MCQ, {N_SAQ:,} short answer), 10 KSBs spread evenly, "
            f"{SECOND_KSB_SHARE:.0%} on a second KSB, {ENEMY_SHARE:.0%} in enemy pairs; ST0663 blueprint "
            f"(14 MCQ x 1 + 26 short answer x 2, all 10 KSBs required). One process, {pinned}. "
            f"ItemPool built once in {build_ms:.0f} ms."
        ),
        "",
        (
            f"draw_paper from the ItemPool, {APPRENTICES} apprentices per row (each with their own "
            f"earlier papers as `seen`); plain-Python reference on {REFERENCE_APPRENTICES} of them, "
            "its papers checked against the same rules:"
        ),
        "",
        "| earlier attempts | draws/s | mean ms | median ms | p99 ms | reference mean ms | speed-up |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        (
            f"With exposure: ExposureCounts (array kept with the pool) {e_mean:.3f} ms mean, "
            f"{e_med:.3f} median, {e_p99:.3f} p99; a plain dict of 10,000 counts {d_mean:.3f} ms "
            f"(turning ids into positions costs most of it); reference with the dict {r_mean:.1f} ms "
            f"({r_mean / d_mean:.0f}x). Passing the item list instead of a pool rebuilds the index "
            f"each call: {statistics.fmean(from_list):.1f} ms."
        ),
        "",
        f"Exposure evenness, {EXPOSURE_DRAWS:,} successive draws with counts fed back:",
        "",
        "| items | mean use | min | max | max / mean | min / mean |",
        "|---|---|---|---|---|---|",
    ]
    for label, arr in (("MCQ", use["mcq"]), ("short answer", use["short_answer"]), ("all", every)):
        lines.append(
            f"| {label} | {arr.mean():.1f} | {arr.min()} | {arr.max()} | "
            f"{arr.max() / arr.mean():.3f} | {arr.min() / arr.mean():.3f} |"
        )
    lines += [
        "",
        (
            f"Without exposure (a uniform draw each time) the same {EXPOSURE_DRAWS:,} draws use the "
            f"most-used item {uniform_use.max() / uniform_use.mean():.2f}x the mean "
            f"(min {uniform_use.min()}, max {uniform_use.max()})."
        ),
        "",
        (
            f"With a DifficultyTarget (mean facility 0.62 +/- 0.01; facility known for 90% of the "
            f"bank): {statistics.fmean(steered_times):.3f} ms mean per draw; distance from the "
            f"target at most {max(steered_gap):.3f} over 300 papers, all valid."
        ),
        "",
        (
            f"papers_without_repeat: {in_a_row} papers in a row for one apprentice "
            f"(bound from type counts {bound}) in {in_a_row_s:.2f} s. "
            f"Reference papers checked valid: {reference_ok}. Speed-up over the reference "
            f"{min(ratios):.0f}-{max(ratios):.0f}x. Whole run {total_s:.0f} s."
        ),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    body = main()
    write_section("draw_papers", body)
    print(body)
