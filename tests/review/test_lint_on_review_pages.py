"""Item-writing findings beside each item: the review queue, the question page, the annual record."""

from __future__ import annotations

import datetime as dt
import html as htmllib

from testengine.extensions import db
from testengine.services.bank_lint import bank_lint, findings_by_item
from tests.review.conftest import question_of


def _an_item_with_findings(st0663):
    lint = findings_by_item([st0663])
    item = min(lint)
    return item, lint[item]


def test_the_stored_bank_lints_like_its_files(st0663):
    report = bank_lint(st0663)
    assert (report.key_longest_count, report.mcq_count) == (18, 80)
    assert report.errors == ()
    assert report.undeclared_near_duplicates == ()
    # Without files, a finding names the question and the part of it.
    finding = next(f for f in report.findings if f.rule == "key-longest")
    assert finding.file.startswith(f"{finding.item} options[") and finding.file.endswith("].text")


def test_the_report_is_kept_until_the_bank_changes(st0663, clock):
    first = bank_lint(st0663)
    assert bank_lint(st0663) is first
    item, _findings = _an_item_with_findings(st0663)
    question_of(st0663, item).status = "retired"
    db.session.commit()
    again = bank_lint(st0663)
    assert again is not first
    assert not again.for_item(item)  # a retired question is not linted


def test_queue_shows_findings_beside_each_item(st0663, client, login_as, clock):
    login_as("reviewer")
    item, findings = _an_item_with_findings(st0663)
    question_of(st0663, item).next_due = clock.now().date() - dt.timedelta(days=2)
    db.session.commit()
    page = htmllib.unescape(client.get("/review/").get_data(as_text=True))
    row = page.split(item, 1)[1].split("</tr>", 1)[0]
    for finding in findings:
        assert f"{finding.severity}: {finding.rule}" in row


def test_question_page_lists_its_findings(st0663, client, login_as):
    login_as("reviewer")
    item, findings = _an_item_with_findings(st0663)
    page = htmllib.unescape(client.get(f"/review/questions/{question_of(st0663, item).id}").get_data(as_text=True))
    section = page.split('id="lint"', 1)[1]
    for finding in findings:
        assert finding.message in section


def test_annual_record_shows_the_bank_figures_and_findings(st0663, client, login_as):
    login_as("reviewer")
    page = htmllib.unescape(client.get("/review/standards/ST0663/record").get_data(as_text=True))
    assert "The key is strictly the longest option in 18 of 80 multiple-choice questions (22%" in page
    assert "0 undeclared near-duplicate pair(s); 0 error(s)" in page
    _item, findings = _an_item_with_findings(st0663)
    assert findings[0].message in page.split('id="lint"', 1)[1]
