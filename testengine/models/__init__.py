"""SQLAlchemy models, one module per aggregate."""

from .assessment import Appointment, QuestionSetDraw
from .attempts import Answer, Attempt, AttemptEvent, AttemptQuestion, Stoppage
from .audit import AuditEntry, AuditLogIsAppendOnly
from .banks import BankImport, Question, QuestionReview, QuestionStatus, QuestionVersion, Standard
from .draws import DrawPool, ItemExposure
from .limits import RateLimitCounter
from .marking import Mark, MarkerClearance, MarkingClaim, SecondMarkingDecision, StandardisationItem, StandardisationMark
from .people import Adjustment, AdjustmentKind, Apprentice, Role, User, UserRole
from .practice import PracticeAttempt
from .results import MethodResult, OverallResult, ResitAgreement
from .sittings import Booking, BookingStatus, Incident, InvigilatorMessage, RoomEvent, Sitting, SittingInvigilator, SittingState

__all__ = [
    "Appointment",
    "QuestionSetDraw",
    "PracticeAttempt",
    "Adjustment",
    "AdjustmentKind",
    "Answer",
    "Apprentice",
    "Attempt",
    "AttemptEvent",
    "AttemptQuestion",
    "AuditEntry",
    "AuditLogIsAppendOnly",
    "BankImport",
    "Booking",
    "BookingStatus",
    "DrawPool",
    "ItemExposure",
    "Incident",
    "RateLimitCounter",
    "InvigilatorMessage",
    "Mark",
    "MarkerClearance",
    "MarkingClaim",
    "MethodResult",
    "OverallResult",
    "Question",
    "QuestionReview",
    "ResitAgreement",
    "QuestionStatus",
    "QuestionVersion",
    "Role",
    "RoomEvent",
    "SecondMarkingDecision",
    "Sitting",
    "SittingInvigilator",
    "SittingState",
    "StandardisationItem",
    "StandardisationMark",
    "Standard",
    "Stoppage",
    "User",
    "UserRole",
]
