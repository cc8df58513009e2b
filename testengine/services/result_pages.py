"""What the admins' result pages show, read in one place: the results waiting for sign-off or release,
a search for an apprentice, an apprentice's attempts and who signed their results off, and every result
for the CSV export. Reads only."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select

from ..domain.result_states import ResultStatus
from ..extensions import db
from ..models import Apprentice, Attempt, MethodResult, OverallResult, Standard, User

SEARCH_LIMIT = 50

MethodRows = Sequence[tuple[MethodResult, Apprentice, Standard]]
OverallRows = Sequence[tuple[OverallResult, Apprentice, Standard]]


def waiting() -> tuple[MethodRows, OverallRows]:
    """(method, apprentice, standard) and (overall, apprentice, standard) rows of the current results not
    yet released, oldest first."""
    methods = (
        db.session.execute(
            select(MethodResult, Apprentice, Standard)
            .join(Apprentice, Apprentice.id == MethodResult.apprentice_id)
            .join(Standard, Standard.id == MethodResult.standard_id)
            .where(MethodResult.current.is_(True), MethodResult.status != ResultStatus.RELEASED.value)
            .order_by(MethodResult.recorded_at)
        )
        .tuples()
        .all()
    )
    overall = (
        db.session.execute(
            select(OverallResult, Apprentice, Standard)
            .join(Apprentice, Apprentice.id == OverallResult.apprentice_id)
            .join(Standard, Standard.id == OverallResult.standard_id)
            .where(OverallResult.current.is_(True), OverallResult.status != ResultStatus.RELEASED.value)
            .order_by(OverallResult.created_at)
        )
        .tuples()
        .all()
    )
    return methods, overall


def search_apprentices(query: str) -> Sequence[Apprentice]:
    """Apprentices whose candidate number, ULN or name contains `query` (the first SEARCH_LIMIT)."""
    like = f"%{query}%"
    return db.session.scalars(
        select(Apprentice)
        .where(
            or_(
                Apprentice.candidate_number.ilike(like),
                Apprentice.uln.ilike(like),
                Apprentice.given_name.ilike(like),
                Apprentice.family_name.ilike(like),
            )
        )
        .order_by(Apprentice.candidate_number)
        .limit(SEARCH_LIMIT)
    ).all()


def standards() -> Sequence[Standard]:
    return db.session.scalars(select(Standard).order_by(Standard.code)).all()


def attempts_of(apprentice: Apprentice, standard: Standard) -> Sequence[Attempt]:
    return db.session.scalars(
        select(Attempt).where(Attempt.apprentice_id == apprentice.id, Attempt.standard_id == standard.id).order_by(Attempt.id)
    ).all()


def signers(apprentice_id: int, standard_id: int) -> dict[int, str]:
    """Who signed each current result off: the page names them, and another admin releases."""
    rows = db.session.execute(
        select(User.id, User.display_name).where(
            User.id.in_(
                select(MethodResult.signed_off_by_id)
                .where(MethodResult.apprentice_id == apprentice_id, MethodResult.standard_id == standard_id)
                .union(
                    select(OverallResult.signed_off_by_id).where(
                        OverallResult.apprentice_id == apprentice_id, OverallResult.standard_id == standard_id
                    )
                )
            )
        )
    ).all()
    return {user_id: name for user_id, name in rows}


def everything() -> tuple[MethodRows, OverallRows]:
    """Every method and overall result ever recorded (history included), with apprentice and standard,
    in the order of the CSV export."""
    methods = (
        db.session.execute(
            select(MethodResult, Apprentice, Standard)
            .join(Apprentice, Apprentice.id == MethodResult.apprentice_id)
            .join(Standard, Standard.id == MethodResult.standard_id)
            .order_by(Standard.code, Apprentice.candidate_number, MethodResult.id)
        )
        .tuples()
        .all()
    )
    overall = (
        db.session.execute(
            select(OverallResult, Apprentice, Standard)
            .join(Apprentice, Apprentice.id == OverallResult.apprentice_id)
            .join(Standard, Standard.id == OverallResult.standard_id)
            .order_by(Standard.code, Apprentice.candidate_number, OverallResult.id)
        )
        .tuples()
        .all()
    )
    return methods, overall
