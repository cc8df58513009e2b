"""A bank as a whole: its health, item statistics with the facility/discrimination chart,
each sitting's reliability and score distribution, and the annual review record (page and CSV)."""

from __future__ import annotations

from flask import Response, abort, render_template
from sqlalchemy import select

from ..clock import utcnow
from ..extensions import db
from ..models import Sitting, Standard
from ..services import review_record
from ..services.banks import spec_of
from ..services.statistics import bank_statistics
from . import charts
from .blueprint import bp


def _standard(code: str) -> Standard:
    return db.first_or_404(select(Standard).where(Standard.code == code))


@bp.route("/standards/<code>")
def bank(code: str):  # type: ignore[no-untyped-def]
    standard = _standard(code)
    today = utcnow().date()
    stats = bank_statistics(standard)
    spec = spec_of(standard)
    return render_template(
        "reviewer/bank.html",
        standard=standard,
        assessor_led=spec.knowledge_test is None,
        method_names=[method.name for method in spec.methods],
        health=review_record.bank_health(standard, today),
        stats=stats,
        scatter=charts.facility_discrimination(stats.items),
        today=today,
    )


@bp.route("/standards/<code>/sittings/<int:sitting_id>")
def sitting(code: str, sitting_id: int):  # type: ignore[no-untyped-def]
    standard = _standard(code)
    room = db.session.get(Sitting, sitting_id)
    if room is None or room.standard_id != standard.id:
        abort(404)
    stats = bank_statistics(standard)
    group = next((s for s in stats.sittings if s.sitting_id == sitting_id), None)
    if group is None:
        return render_template("reviewer/sitting.html", standard=standard, stats=stats, group=None, title=room.title)
    chart = charts.score_histogram(group, stats.boundaries, stats.max_total)
    bands = [(grade, low, high, sum(group.distribution[low : high + 1])) for grade, low, high in stats.boundaries]
    counts = [(total, count) for total, count in enumerate(group.distribution) if count]
    return render_template(
        "reviewer/sitting.html",
        standard=standard,
        stats=stats,
        group=group,
        chart=chart,
        bands=bands,
        counts=counts,
        title=group.label,
    )


@bp.route("/standards/<code>/record")
def record(code: str):  # type: ignore[no-untyped-def]
    standard = _standard(code)
    return render_template(
        "reviewer/record.html",
        standard=standard,
        rows=review_record.review_record(standard),
        lint=review_record.lint_record(standard),
    )


@bp.route("/standards/<code>/record.csv")
def record_csv(code: str):  # type: ignore[no-untyped-def]
    standard = _standard(code)
    filename = f"{standard.code}-review-record-{utcnow():%Y-%m-%d}.csv"
    return Response(
        review_record.review_record_csv(standard),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
