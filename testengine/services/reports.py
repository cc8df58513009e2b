"""PDF documents: the invigilation report and result letters (fpdf2, core fonts only)."""

from __future__ import annotations

from typing import Any

from fpdf import FPDF


def _latin(text: Any) -> str:
    # Core PDF fonts are Latin-1; replace what they cannot draw rather than fail.
    return str(text).encode("latin-1", "replace").decode("latin-1")


def _document(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_author("testengine")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    return pdf


def _line(pdf: FPDF, text: str, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", 10)
    pdf.multi_cell(0, 5, _latin(text), new_x="LMARGIN", new_y="NEXT")


def invigilation_pdf(report: dict[str, Any]) -> bytes:
    sitting = report["sitting"]
    pdf = _document(f"Invigilation report: {sitting.title}")
    _line(pdf, f"Venue: {sitting.venue}{' (remote, proctored)' if sitting.remote else ''}")
    _line(pdf, f"Start window: {sitting.window_start:%Y-%m-%d %H:%M} to {sitting.window_end:%H:%M} UTC")
    if sitting.venue_confirmed_at:
        _line(pdf, f"Venue checklist confirmed: {sitting.venue_confirmed_at:%Y-%m-%d %H:%M:%S} UTC")
    if sitting.closed_at:
        _line(pdf, f"Closed: {sitting.closed_at:%Y-%m-%d %H:%M:%S} UTC")
    _line(pdf, f"Ratio: at most {report['ratio']} apprentices per invigilator. "
               + ("Held at every moment." if report["ratio_held"] else f"EXCEEDED {len(report['breaches'])} time(s)."), bold=True)
    pdf.ln(3)
    _line(pdf, "Register", bold=True)
    for row in report["register"]:
        _line(pdf, f"{row['candidate_number']}  {row['name']}  seat {row['seat'] or '-'}  {row['attendance']}  "
                   f"started {row['started_at'][:19] or '-'}  finished {row['finished_at'][:19] or '-'} ({row['finish'] or '-'})  "
                   f"clock stopped {row['stopped_minutes']} min")
    pdf.ln(3)
    _line(pdf, "Incidents", bold=True)
    if not report["incidents"]:
        _line(pdf, "None recorded.")
    for item in report["incidents"]:
        name = report["incident_names"].get(item.kind, item.kind)
        end = f" to {item.ended_at:%H:%M:%S}" if item.ended_at else ""
        _line(pdf, f"{item.occurred_at:%H:%M:%S}{end}  {name}: {item.notes}")
    pdf.ln(3)
    _line(pdf, "Room timeline", bold=True)
    for event in report["timeline"]:
        _line(pdf, f"{event.at:%H:%M:%S}  {event.kind.replace('_', ' ')}  in progress {event.in_progress}, invigilators {event.invigilators_present}")
    return bytes(pdf.output())


def result_letter_pdf(letter: dict[str, Any]) -> bytes:
    pdf = _document("End-point assessment result")
    for label, value in letter["lines"]:
        _line(pdf, f"{label}: {value}")
    pdf.ln(4)
    for paragraph in letter.get("paragraphs", []):
        _line(pdf, paragraph)
        pdf.ln(2)
    return bytes(pdf.output())
