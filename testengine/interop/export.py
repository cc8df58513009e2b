"""A bank written out as a QTI 3.0 content package or as Moodle XML.

Both carry everything a bank question is, so converting the export back gives the same questions:
QTI 3.0 keeps the KSBs as LOM keywords and the review record in a block of the manifest's resource
metadata (namespace qti.BANK_NS), and the marking guide as a scorer rubric block; Moodle XML keeps
the KSBs as tags, the review record as `bank:` tags and the guide as the essay's grader info.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ..banks.questions import BankQuestion
from .moodle_xml import NATIVE_TAG
from .qti import BANK_NS
from .text import text_to_html

QTI3_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
LOM_NS = "http://ltsc.ieee.org/xsd/LOM"
MATCH_CORRECT = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"
LETTERS = "ABCDEFGH"
_GUIDE_PARTS = (
    ("indicative_content", "indicative-content", "Indicative content"),
    ("two_marks", "two-marks", "Two marks"),
    ("one_mark", "one-mark", "One mark"),
    ("zero_marks", "zero-marks", "Zero marks"),
    ("acceptable_alternatives", "acceptable-alternatives", "Acceptable alternatives"),
)


def _x(text: str) -> str:
    return escape(text, quote=True)


def _inline(text: str) -> str:
    """Plain text as inline HTML (line breaks kept), for option texts and list entries."""
    return "<br/>".join(_x(line) for line in text.split("\n"))


def _guide_html(guide: Mapping[str, Any], *, classes: bool) -> str:
    parts = []
    for key, css, heading in _GUIDE_PARTS:
        value = guide.get(key)
        if key == "acceptable_alternatives" and not value:
            continue
        body = (
            "<ul>" + "".join(f"<li>{_inline(v)}</li>" for v in value) + "</ul>"
            if isinstance(value, list)
            else text_to_html(str(value))
        )
        block = f"<h4>{heading}</h4>{body}"
        parts.append(f'<div class="{css}">{block}</div>' if classes else block)
    return "".join(parts)


# --- QTI 3.0 -------------------------------------------------------------------------------------


def qti3_item(question: BankQuestion) -> str:
    """One question as a QTI 3.0 assessment item."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<qti-assessment-item xmlns="{QTI3_NS}" identifier="{_x(question.id)}" title="{_x(question.id)}"'
        ' adaptive="false" time-dependent="false" xml:lang="en-GB">\n'
    )
    stem = text_to_html(question.stem)
    if question.type == "mcq":
        options = question.content["options"]
        key = next(LETTERS[i] for i, option in enumerate(options) if option.get("correct"))
        choices = ""
        for i, option in enumerate(options):
            feedback = (
                f'<qti-feedback-inline outcome-identifier="FEEDBACK" identifier="{LETTERS[i]}" show-hide="show">'
                f"{_inline(option['rationale'])}</qti-feedback-inline>"
                if option.get("rationale")
                else ""
            )
            choices += (
                f'      <qti-simple-choice identifier="{LETTERS[i]}">{_inline(option["text"])}{feedback}</qti-simple-choice>\n'
            )
        return (
            head + '  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">\n'
            f"    <qti-correct-response><qti-value>{key}</qti-value></qti-correct-response>\n"
            "  </qti-response-declaration>\n"
            f'  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float" normal-maximum="{question.marks}"/>\n'
            '  <qti-outcome-declaration identifier="FEEDBACK" cardinality="multiple" base-type="identifier"/>\n'
            f"  <qti-item-body>\n    {stem}\n"
            '    <qti-choice-interaction response-identifier="RESPONSE" shuffle="true" max-choices="1">\n'
            f"{choices}    </qti-choice-interaction>\n  </qti-item-body>\n"
            f'  <qti-response-processing template="{MATCH_CORRECT}"/>\n'
            "</qti-assessment-item>\n"
        )
    guide = _guide_html(question.content["guide"], classes=True)
    return (
        head + '  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="string"/>\n'
        f'  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float" normal-maximum="{question.marks}"/>\n'
        f"  <qti-item-body>\n    {stem}\n"
        '    <qti-extended-text-interaction response-identifier="RESPONSE" expected-lines="6"/>\n'
        f'    <qti-rubric-block view="scorer" use="marking-guide"><qti-content-body>{guide}</qti-content-body></qti-rubric-block>\n'
        "  </qti-item-body>\n"
        "</qti-assessment-item>\n"
    )


def _bank_block(question: BankQuestion) -> str:
    def el(name: str, value: str) -> str:
        return f"<bank:{name}>{_x(value)}</bank:{name}>"

    parts = [
        el("id", question.id),
        *(el("ksb", code) for code in question.ksb),
        el("status", question.status),
        el("author", question.author),
        el("last-reviewed", question.last_reviewed.isoformat()),
        el("reviewer", question.reviewer),
        el("next-due", question.next_due.isoformat()),
        *(el("enemy", enemy) for enemy in question.enemies),
    ]
    return "<bank:question>" + "".join(parts) + "</bank:question>"


# Assessor questions are asked in person (observation, presentation, discussion): neither format has a
# place for their pass and distinction indicators, so they stay in the bank's own files.
EXPORTED_TYPES = frozenset({"mcq", "short_answer"})


def exportable(questions: Sequence[BankQuestion]) -> list[BankQuestion]:
    """The knowledge-test questions of a bank: what QTI 3.0 and Moodle XML carry."""
    return [question for question in questions if question.type in EXPORTED_TYPES]


def qti3_package(standard: str, questions: Sequence[BankQuestion]) -> bytes:
    """The bank as a QTI 3.0 content package (zip): imsmanifest.xml and items/<id>.xml."""
    resources = ""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for question in sorted(exportable(questions), key=lambda q: q.id):
            href = f"items/{question.id}.xml"
            archive.writestr(href, qti3_item(question))
            keywords = "".join(f"<imsmd:keyword><imsmd:string>{_x(k)}</imsmd:string></imsmd:keyword>" for k in question.ksb)
            resources += (
                f'    <resource identifier="R-{_x(question.id)}" type="imsqti_item_xmlv3p0" href="{href}">\n'
                "      <metadata><imsmd:lom><imsmd:general>"
                f"<imsmd:identifier><imsmd:entry>{_x(question.id)}</imsmd:entry></imsmd:identifier>{keywords}"
                f"</imsmd:general></imsmd:lom>{_bank_block(question)}</metadata>\n"
                f'      <file href="{href}"/>\n    </resource>\n'
            )
        manifest = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<manifest xmlns="{CP_NS}" xmlns:imsmd="{LOM_NS}" xmlns:bank="{BANK_NS}" identifier="{_x(standard)}-bank">\n'
            "  <metadata><schema>QTI Content Package</schema><schemaversion>3.0.0</schemaversion></metadata>\n"
            "  <organizations/>\n  <resources>\n"
            f"{resources}  </resources>\n</manifest>\n"
        )
        archive.writestr("imsmanifest.xml", manifest)
    return buffer.getvalue()


# --- Moodle XML ----------------------------------------------------------------------------------


def _text(tag: str, html: str, fmt: str = "html") -> str:
    return f'<{tag} format="{fmt}"><text>{_x(html)}</text></{tag}>'


def moodle_xml(standard: str, questions: Sequence[BankQuestion]) -> str:
    """The bank as Moodle XML: multichoice (single) and essay with the marking guide as grader info."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<quiz>",
        f'  <question type="category"><category><text>$course$/top/{_x(standard)}</text></category></question>',
    ]
    for question in sorted(exportable(questions), key=lambda q: q.id):
        tags = list(question.ksb) + [
            f"{NATIVE_TAG}{key}={value}"
            for key, value in (
                ("id", question.id),
                ("status", question.status),
                ("author", question.author),
                ("last_reviewed", question.last_reviewed.isoformat()),
                ("reviewer", question.reviewer),
                ("next_due", question.next_due.isoformat()),
                *(("enemy", enemy) for enemy in question.enemies),
            )
        ]
        moodle_type = "multichoice" if question.type == "mcq" else "essay"
        lines = [
            f'  <question type="{moodle_type}">',
            f"    <name><text>{_x(question.id)}</text></name>",
            "    " + _text("questiontext", text_to_html(question.stem)),
            '    <generalfeedback format="html"><text></text></generalfeedback>',
            f"    <defaultgrade>{question.marks}</defaultgrade>",
            "    <penalty>0</penalty>",
            "    <hidden>0</hidden>",
            f"    <idnumber>{_x(question.id)}</idnumber>",
        ]
        if question.type == "mcq":
            lines += [
                "    <single>true</single>",
                "    <shuffleanswers>true</shuffleanswers>",
                "    <answernumbering>abc</answernumbering>",
            ]
            for option in question.content["options"]:
                fraction = 100 if option.get("correct") else 0
                feedback = _text("feedback", _inline(option["rationale"])) if option.get("rationale") else ""
                lines.append(
                    f'    <answer fraction="{fraction}" format="html"><text>{_x(_inline(option["text"]))}</text>{feedback}</answer>'
                )
        else:
            lines += [
                "    <responseformat>editor</responseformat>",
                "    <responserequired>1</responserequired>",
                "    <responsefieldlines>10</responsefieldlines>",
                "    " + _text("graderinfo", _guide_html(question.content["guide"], classes=False)),
                '    <responsetemplate format="html"><text></text></responsetemplate>',
            ]
        lines.append("    <tags>" + "".join(f"<tag><text>{_x(tag)}</text></tag>" for tag in tags) + "</tags>")
        lines.append("  </question>")
        out += lines
    out.append("</quiz>")
    return "\n".join(out) + "\n"
