"""The apprentice's results: released results only, their own only, a letter as PDF."""

from __future__ import annotations

from flask import Response, abort, render_template

from ..clock import utcnow
from ..services import reports, result_letters
from .blueprint import bp
from .views import _apprentice


@bp.route("/results")
def results():  # type: ignore[no-untyped-def]
    apprentice = _apprentice()
    return render_template("apprentice/results.html", apprentice=apprentice, standards=result_letters.released_for(apprentice))


@bp.route("/results/<int:result_id>")
def result(result_id: int):  # type: ignore[no-untyped-def]
    """One released method result; anything else (another person's, not released) does not exist for them."""
    for entry in result_letters.released_for(_apprentice()):
        for item in entry["methods"]:
            if item["result"].id == result_id:
                return render_template("apprentice/result.html", entry=entry, item=item)
    abort(404)


@bp.route("/results/<code>/letter.pdf")
def letter(code: str):  # type: ignore[no-untyped-def]
    apprentice = _apprentice()
    entry = next((e for e in result_letters.released_for(apprentice) if e["standard"].code == code), None)
    if entry is None:
        abort(404)
    pdf = reports.result_letter_pdf(result_letters.letter(apprentice, entry, today=utcnow().date()))
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename=result-{code}-{apprentice.candidate_number}.pdf"},
    )
