"""PDF documents: the invigilation report and result letters (fpdf2).

The text is drawn in DejaVu Sans, embedded in each PDF (the TTF files ship in testengine/fonts, with their
licence), so any name in Latin, Greek or Cyrillic script prints as written: Welsh ŵ ŷ, Polish Ł, Irish fada.
A character the font lacks (an emoji, say) prints as a visible "□", never as a silent "?". Times are stored
in UTC and shown in the display time zone (TESTENGINE_DISPLAY_TIMEZONE) with its abbreviation.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import FontFace

FONTS = Path(__file__).resolve().parent.parent / "fonts"
FAMILY = "DejaVu"
MISSING = "\u25a1"  # □: shown for a character the font cannot draw
HEADINGS = FontFace(emphasis="BOLD", fill_color=(231, 236, 243))
INK = (11, 12, 12)
ACCENT = (29, 79, 145)

FINISH = {
    "candidate": "Submitted by the apprentice",
    "time_up": "Time ran out",
    "invigilator": "Ended by the invigilator",
    "not_started": "Not started",
    "in_progress": "Still in progress",
    "paused": "Paused",
    "on_break": "On a rest break",
    "submitted": "Submitted",
    "abandoned": "Abandoned",
}
ROOM_EVENTS = {
    "venue_confirmed": "Venue checklist confirmed",
    "invigilator_in": "Invigilator signed in",
    "invigilator_out": "Invigilator signed out",
    "room_paused": "Whole room paused",
    "room_resumed": "Room resumed",
    "closed": "Sitting closed",
    "start": "A test started",
}


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    """The code points DejaVu Sans can draw (its character map)."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(FONTS / "DejaVuSans.ttf"), lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def drawable(text: Any) -> str:
    """`text` as the font can draw it: composed (NFC), invisible controls dropped, anything else the font
    lacks replaced by "□". Line breaks are kept; tabs become spaces."""
    covered = _covered()
    out: list[str] = []
    for char in unicodedata.normalize("NFC", str(text)):
        category = unicodedata.category(char)
        if char == "\n":
            out.append(char)
        elif char == "\t":
            out.append(" ")
        elif category in {"Cc", "Cf"} or 0xFE00 <= ord(char) <= 0xFE0F or 0xE0100 <= ord(char) <= 0xE01EF:
            continue  # a control, an invisible joiner or a variation selector (emoji sequences): nothing to see
        elif ord(char) in covered:
            out.append(char)
        elif category in {"Mn", "Me"}:
            continue  # a combining mark the font lacks (an emoji's variation selector): the base still shows
        else:
            out.append(MISSING)
    return "".join(out)


def local_time(value: dt.datetime | str | None, zone: ZoneInfo, *, seconds: bool = False, date: bool = True) -> str:
    """A stored UTC time (or its ISO text) as local time with the zone: "3 December 2026, 14:05 GMT"."""
    if value is None or value == "":
        return "-"
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    local = when.astimezone(zone)
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{local.day} {local:%B %Y}, {clock} {local:%Z}" if date else f"{clock} {local:%Z}"


class _Document(FPDF):
    """A4, DejaVu Sans embedded, a title block and a footer with the page number."""

    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__(format="A4")
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.footer_text = drawable(f"{title}: {subtitle}")
        self.set_title(drawable(title))
        self.set_author("testengine")
        self.add_page()
        self.set_text_color(*ACCENT)
        self.set_font(FAMILY, "B", 18)
        self.multi_cell(0, 9, drawable(title), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)
        self.set_font(FAMILY, "", 12)
        self.multi_cell(0, 7, drawable(subtitle), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.6)
        self.line(self.l_margin, self.get_y() + 2, self.w - self.r_margin, self.get_y() + 2)
        self.set_line_width(0.2)  # tables: thin grey rules
        self.set_draw_color(130, 137, 145)
        self.ln(6)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, f"{self.footer_text}  ·  page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(*INK)

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(FAMILY, "B", 12)
        self.set_text_color(*ACCENT)
        self.multi_cell(0, 7, drawable(text), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)
        self.ln(1)

    def paragraph(self, text: str, *, bold: bool = False, size: float = 10) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        self.multi_cell(0, 5.2, drawable(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)

    def grid(self, rows: list[list[Any]], widths: tuple[float, ...], *, headings: bool = True, size: float = 9) -> None:
        """fpdf2's table: a heading row (unless `headings` is false: then a label column in bold)."""
        self.set_font(FAMILY, "", size)
        with self.table(
            col_widths=widths,
            first_row_as_headings=headings,
            headings_style=HEADINGS,
            line_height=size * 0.55,
            padding=1.2,
            text_align="LEFT",
            width=self.epw,
        ) as table:
            for values in rows:
                row = table.row()
                for index, value in enumerate(values):
                    emphasis = None if headings or index else FontFace(emphasis="BOLD")
                    row.cell(drawable(value), style=emphasis)
        self.ln(2)


def invigilation_pdf(report: dict[str, Any], zone: ZoneInfo) -> bytes:
    """The invigilation report: the sitting, the register, the incidents with the apprentices involved, the
    room's timeline; times in `zone`."""
    sitting = report["sitting"]
    pdf = _Document("Invigilation report", sitting.title)
    start, end = sitting.window_start, sitting.window_end
    ratio = (
        f"At most {report['ratio']} apprentices per invigilator: held at every moment."
        if report["ratio_held"]
        else f"At most {report['ratio']} apprentices per invigilator: EXCEEDED {len(report['breaches'])} time(s)."
    )
    pdf.grid(
        [
            ["Venue", f"{sitting.venue}{' (remote, proctored)' if sitting.remote else ''}"],
            ["Start window", f"{local_time(start, zone)} to {local_time(end, zone, date=start.date() != end.date())}"],
            ["Venue checklist confirmed", local_time(sitting.venue_confirmed_at, zone, seconds=True)],
            ["Sitting closed", local_time(sitting.closed_at, zone, seconds=True)],
            ["Invigilation ratio", ratio],
            ["Times shown in", f"{zone.key} (local time, with its abbreviation)"],
        ],
        (34, 66),
        headings=False,
    )

    pdf.heading("Register")
    register = [["Candidate", "Name", "Seat", "Attendance", "Started", "Finished", "How it ended", "Stopped"]]
    for row in report["register"]:
        register.append(
            [
                row["candidate_number"],
                row["name"],
                row["seat"] or "-",
                str(row["attendance"]).capitalize(),
                local_time(row["started_at"], zone, seconds=True),
                local_time(row["finished_at"], zone, seconds=True),
                FINISH.get(row["finish"], str(row["finish"]).replace("_", " ").capitalize()) if row["finish"] else "-",
                f"{row['stopped_minutes']} min",
            ]
        )
    if len(register) == 1:
        pdf.paragraph("Nobody was booked.")
    else:
        pdf.grid(register, (11, 19, 6, 13, 15, 15, 11, 10), size=8)

    pdf.heading("Incidents")
    people = report.get("apprentices") or {}
    if not report["incidents"]:
        pdf.paragraph("None recorded.")
    else:
        incidents = [["Time", "Incident", "Apprentices involved", "Notes"]]
        for item in report["incidents"]:
            when = local_time(item.occurred_at, zone, seconds=True)
            if item.ended_at:
                when += f" to {local_time(item.ended_at, zone, seconds=True, date=False)}"
            involved = "\n".join(people.get(a, report["candidates"].get(a, f"apprentice {a}")) for a in item.apprentice_ids)
            incidents.append(
                [when, report["incident_names"].get(item.kind, item.kind), involved or "The whole room", item.notes or "-"]
            )
        pdf.grid(incidents, (22, 17, 25, 36), size=8)

    pdf.heading("Messages to apprentices")
    if not report.get("messages"):
        pdf.paragraph("None sent.")
    else:
        sent = [["Time", "To", "From", "Message"]]
        for message in report["messages"]:
            sent.append(
                [local_time(message["sent_at"], zone, seconds=True), message["to"], message["sent_by"] or "-", message["body"]]
            )
        pdf.grid(sent, (22, 17, 20, 41), size=8)

    pdf.heading("Room timeline")
    timeline = [["Time", "Event", "Tests in progress", "Invigilators present"]]
    for event in report["timeline"]:
        timeline.append(
            [
                local_time(event.at, zone, seconds=True),
                ROOM_EVENTS.get(event.kind, event.kind.replace("_", " ").capitalize()),
                event.in_progress,
                event.invigilators_present,
            ]
        )
    if len(timeline) == 1:
        pdf.paragraph("Nothing happened in the room.")
    else:
        pdf.grid(timeline, (30, 34, 18, 18), size=8)
    return bytes(pdf.output())


def result_letter_pdf(letter: dict[str, Any]) -> bytes:
    """The result letter: who and what, each method's grade, the overall grade, and how grades are earned."""
    pdf = _Document(letter["title"], letter["standard"])
    pdf.grid([list(pair) for pair in letter["details"]], (30, 70), headings=False, size=10)

    pdf.heading("Your results")
    rows = [["Assessment method", "Grade", "Marks", "Assessed on"]]
    rows += [[m["method"], m["grade"], m["marks"] or "-", m["assessed_on"]] for m in letter["methods"]]
    pdf.grid(rows, (46, 18, 14, 22), size=10)
    if letter["overall"]:
        pdf.paragraph(f"Overall end-point assessment grade: {letter['overall']}", bold=True, size=13)
        if letter["meaning"]:
            pdf.paragraph(letter["meaning"])
    for paragraph in letter["paragraphs"]:
        pdf.paragraph(paragraph)

    pdf.heading("How the grades are decided")
    if letter["boundaries"]:
        pdf.paragraph(f"The {letter['test_name'].lower()} is marked out of {letter['test_total']}. Its grade boundaries:")
        pdf.grid(
            [["Grade", f"Marks (out of {letter['test_total']})"], *[list(b) for b in letter["boundaries"]]], (50, 50), size=10
        )
    pdf.paragraph("The overall grade combines the methods' grades; the first of these rules that applies decides it:")
    for rule in letter["rules"]:
        pdf.paragraph(f"•  {rule}")
    return bytes(pdf.output())
