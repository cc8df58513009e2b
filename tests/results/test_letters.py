"""Result letters: any name prints as written (the font is embedded), the grade is explained from the spec."""

from __future__ import annotations

import io

from pypdf import PdfReader

from testengine.domain.grading import describe_overall_rules
from testengine.services import reports, result_letters, results
from testengine.services.banks import spec_of
from tests.results.test_results_pages import _grade, _release

NAME = "Siân Łukasz Dŵr Ó Briain"


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def embedded_fonts(data: bytes) -> set[str]:
    """The fonts whose program is inside the file (FontFile2: TrueType), by base name."""
    found: set[str] = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                if "/FontFile2" in descriptor:
                    found.add(str(font["/BaseFont"]).split("+")[-1])
    return found


def test_the_letter_prints_a_welsh_polish_and_irish_name_and_explains_the_merit(
    app, client, login, make_user, admin, st1379, clock
):
    user = make_user("apprentice", name=NAME)
    for method, grade in (("observation", "distinction"), ("professional_discussion", "pass")):
        _release(_grade(user.apprentice, st1379, method, grade, clock, admin), clock, admin)
    _release(results.current_overall(user.apprentice.id, st1379.id), clock, admin)
    login(user)
    response = client.get("/apprentice/results/ST1379/letter.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert NAME in text
    assert "?" not in text
    assert "End-point assessment result" in text and "ST1379" in text
    assert "Overall end-point assessment grade: Merit" in text
    assert result_letters.GRADE_MEANINGS["merit"] in text
    for rule in describe_overall_rules(spec_of(st1379)):
        assert rule in text
    assert "At least 1 of the 2 methods graded distinction: Merit." in text
    assert {"DejaVuSansBook", "DejaVuSansBold"} <= embedded_fonts(response.data)  # subsets of the embedded TTFs


def test_a_failed_method_gets_the_knowledge_test_boundaries_and_the_resit_rules(app, make_user, admin, st0663_spec, clock):
    user = make_user("apprentice", name="Zoë 🙂 Ní Bhriain")
    _release(_grade(user.apprentice, st0663_spec, "presentation", "fail", clock, admin), clock, admin)
    entry = result_letters.released_for(user.apprentice)[0]
    text = pdf_text(reports.result_letter_pdf(result_letters.letter(user.apprentice, entry, today=clock.now().date())))
    assert "Zoë □ Ní Bhriain" in text  # the emoji the font lacks is a visible box, not a "?"
    assert "The knowledge test is marked out of 66. Its grade boundaries:" in text
    for grade, marks in (("Fail", "0 to 45"), ("Pass", "46 to 52"), ("Distinction", "53 to 66")):
        assert f"{grade} {marks}" in text
    assert "Any method graded fail: Fail." in text and "Otherwise: Pass." in text
    assert "Only the methods that were failed are taken again, inside the end-point assessment period" in text
    assert "can reach any grade" in text  # ST0663 caps no re-sit
    assert "The overall grade will follow" in text


def test_drawable_keeps_what_the_font_has_and_marks_what_it_lacks():
    assert reports.drawable("Siân Łukasz Dŵr Ŷ Ó Briain") == "Siân Łukasz Dŵr Ŷ Ó Briain"
    assert reports.drawable("Sia\u0302n") == "Siân"  # composed before drawing
    assert reports.drawable("👩\u200d💻 ok\u0000") == "□□ ok"
    assert reports.drawable("✔\ufe0f") == "✔"  # the symbol the font has; its emoji selector dropped
