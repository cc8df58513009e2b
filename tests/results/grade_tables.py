"""The grade tables as the standards state them, written out case by case (not computed).

ST0663 (assessment plan, overall grading): any fail is a fail; at least two distinctions with the
third passed is a distinction (D-P-D included, which the plan's table leaves out); otherwise pass.
ST1379 (EPA specification): P+P pass, P+D or D+P merit, D+D distinction, any fail fail.
"""

from __future__ import annotations

F, P, D = "fail", "pass", "distinction"

# (presentation, observation, knowledge_test) -> overall
ST0663_OVERALL = {
    (F, F, F): F,
    (F, F, P): F,
    (F, F, D): F,
    (F, P, F): F,
    (F, P, P): F,
    (F, P, D): F,
    (F, D, F): F,
    (F, D, P): F,
    (F, D, D): F,
    (P, F, F): F,
    (P, F, P): F,
    (P, F, D): F,
    (P, P, F): F,
    (P, P, P): P,
    (P, P, D): P,
    (P, D, F): F,
    (P, D, P): P,
    (P, D, D): D,
    (D, F, F): F,
    (D, F, P): F,
    (D, F, D): F,
    (D, P, F): F,
    (D, P, P): P,
    (D, P, D): D,
    (D, D, F): F,
    (D, D, P): D,
    (D, D, D): D,
}

# (observation, professional_discussion) -> overall
ST1379_OVERALL = {
    (F, F): F,
    (F, P): F,
    (F, D): F,
    (P, F): F,
    (P, P): P,
    (P, D): "merit",
    (D, F): F,
    (D, P): "merit",
    (D, D): D,
}

# A knowledge-test total that earns each ST0663 grade (Fail 0-45, Pass 46-52, Distinction 53-66).
ST0663_MARKS_FOR = {F: 30, P: 50, D: 60}

assert len(ST0663_OVERALL) == 27 and len(ST1379_OVERALL) == 9
