"""No page, JSON response or export a marker (or moderator) can reach carries an apprentice's name, ULN or email.

The world has real data behind every marker page: answers held, marked, second-marked, disputed and
moderated; standardisation sets, a failed marker, statistics and a sitting waiting for its sample.
Every GET page of the marker area must be visited with a 200, so a page added later is walked too;
every other GET route a marker can reach without URL parameters (the JSON API included) is read as well.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from testengine.extensions import db
from testengine.models import AttemptQuestion, QuestionVersion
from testengine.service_settings import marking_settings
from testengine.services import marking
from testengine.services import marking_quality as quality
from tests.conftest import csrf_token_from
from tests.marking.conftest import short_answer_questions

PEOPLE = [
    ("Zebedee Quillfeather", "9876501234"),
    ("Ottoline Brackenbury", "9876501235"),
    ("Ignatius Marchbanks", "9876501236"),
    ("Philippa Thistlewood", "9876501237"),
    ("Barnaby Wetherspoon", "9876501238"),
    ("Cordelia Fennimore", "9876501239"),
]


class Walker:
    """A signed-in browser that reads pages and records what it saw."""

    def __init__(self, app: Any, login: Any, user: Any) -> None:
        self.client = app.test_client()
        assert login(user, test_client=self.client).status_code == 302
        self.pages: dict[str, tuple[int, str, str | None]] = {}

    def get(self, url: str) -> str:
        response = self.client.get(url)
        self.pages[url] = (response.status_code, response.get_data(as_text=True), response.headers.get("Location"))
        return self.pages[url][1]

    def post(self, url: str, data: dict[str, str] | None = None) -> str | None:
        page = self.get("/mark/")
        response = self.client.post(url, data={"csrf_token": csrf_token_from(page), **(data or {})})
        self.pages[f"POST {url}"] = (response.status_code, response.get_data(as_text=True), response.headers.get("Location"))
        location = response.headers.get("Location")
        if location:
            self.get(urlsplit(location).path + (f"?{urlsplit(location).query}" if urlsplit(location).query else ""))
        return location


def test_no_marker_page_json_or_export_contains_an_apprentices_name_uln_or_email(
    app, login, make_user, sit_script, clear_for, first_mark, add_items, clock
):
    apprentices = [
        make_user("apprentice", name=name, uln=uln, email=f"{name.split()[0].lower()}@example.org") for name, uln in PEOPLE
    ]
    # Six papers of 26 short answers over a bank of 120: identical answers to some question are certain.
    scripts = [
        sit_script(
            ["Refer to the designated safeguarding lead." if i % 2 else "Ask about barriers to work."] * 26,
            mcq_correct=7,
            user=user,
            sitting=None if n == 0 else "room",
        )
        for n, (user, i) in enumerate(zip(apprentices, range(6)))
    ]
    lone, in_room = scripts[0], scripts[1:]
    marker_a, marker_b = make_user("marker", name="Marker Alder"), make_user("marker", name="Marker Beech")
    failing = make_user("marker", name="Marker Cedar")
    moderator = make_user("marker", name="Marker Dogwood", moderator=True)
    clear_for(marker_a)
    clear_for(marker_b)

    # First marking of the lone script (its own batch: second-marked), and of one script in the room (waits for the sample).
    first_mark(marker_a, lone.id, 2)
    first_mark(marker_a, in_room[0].id, 1)
    question_id = short_answer_questions(in_room[1])[0]
    add_items(question_id, moderator, [2, 1, 0])
    items = quality.standardisation_items(question_id)
    quality.submit_standardisation(failing, question_id, {i.id: (i.reference_mark + 1) % 3 for i in items}, now=clock.now())
    db.session.commit()

    a, b, mod, cedar = (Walker(app, login, u) for u in (marker_a, marker_b, moderator, failing))
    # Marker B second-marks the lone script, disagreeing once; the moderator resolves one disagreement.
    while (aq_id := marking.claim_next(marker_b, "second", clock.now(), settings=marking_settings())) is not None:
        first = marking.marks_of([lone.id])[aq_id].latest("first").mark
        marking.save_mark(
            aq_id,
            "second",
            marker_b,
            mark=0 if first and aq_id % 2 else first,
            comment=None,
            now=clock.now(),
            settings=marking_settings(),
        )
        db.session.commit()
    b.post("/mark/second/next")  # nothing left: back to the queue
    mod.post("/mark/moderation/next")
    # Pages with something held: a first mark by question and by script, a group of identical answers.
    a.post(f"/mark/questions/{short_answer_questions(in_room[2])[0]}/next")
    a.post("/mark/scripts/next")
    groups_question = next(
        q for q in {q for s in in_room for q in short_answer_questions(s)} if marking.answer_groups(moderator, q, clock.now())
    )
    group = marking.answer_groups(moderator, groups_question, clock.now())[0]
    rep = db.session.get(AttemptQuestion, group.representative)
    mod.get(f"/mark/questions/{groups_question}/groups")
    mod.post(f"/mark/questions/{groups_question}/groups/{rep.attempt_id}/{rep.position}/claim")
    # Everything else, as each of them.
    for walker in (a, b, mod, cedar):
        walker.get("/mark/")
        for script in scripts:
            walker.get(f"/mark/scripts/{script.id}")
        walker.get(f"/mark/standardisation/{question_id}")
        walker.get(f"/mark/questions/{question_id}/groups")
        for rule in app.url_map.iter_rules():
            if "GET" in rule.methods and not rule.arguments and rule.endpoint not in ("static", "favicon", "auth.logout"):
                walker.get(rule.rule)  # every parameterless page and JSON endpoint (others refuse with 403)
    a.get(f"/mark/scripts/{in_room[0].id}/responses/{_first_short(in_room[0])}/first")  # a mark of one's own
    for path in ("standardisation", f"standardisation/{question_id}", "clearances", "statistics", "statistics.csv", "samples"):
        mod.get(f"/mark/moderation/{path}")

    forbidden = [text for user, (name, uln) in zip(apprentices, PEOPLE) for text in (*name.split(), uln, user.email)]
    seen_ok: set[str] = set()
    for walker in (a, b, mod, cedar):
        for url, (status, body, _location) in walker.pages.items():
            leaks = [text for text in forbidden if text.lower() in body.lower()]
            assert not leaks, f"{url} shows {leaks}"
            if status == 200:
                seen_ok.add(_endpoint(app, url))
    get_pages = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("marker.") and "GET" in r.methods}
    assert get_pages <= seen_ok, f"marker pages not walked with a 200: {sorted(get_pages - seen_ok)}"
    assert "Marker Dogwood" in mod.pages["/mark/moderation/statistics"][1]  # real rows were shown
    assert mod.pages["/mark/moderation/statistics.csv"][1].startswith("marker,")
    assert "Marker Cedar" in mod.pages["/mark/moderation/clearances"][1]
    assert "Candidate" in a.pages[f"/mark/scripts/{in_room[0].id}/responses/{_first_short(in_room[0])}/first"][1]


def _first_short(script: Any) -> int:
    return min(
        aq.position for aq in script.questions if db.session.get(QuestionVersion, aq.question_version_id).type == "short_answer"
    )


def _endpoint(app: Any, url: str) -> str:
    if url.startswith("POST "):
        return "-"
    adapter = app.url_map.bind("localhost")
    try:
        return adapter.match(urlsplit(url).path, method="GET")[0]
    except Exception:  # noqa: BLE001  (a URL that is not a GET route)
        return "-"


def test_marking_data_on_the_pages_comes_only_from_the_candidate_number(app):
    """The marker pages read an apprentice's record in one module, and only its candidate number."""
    from pathlib import Path

    import testengine.marker as area
    from testengine.services import marker_pages

    for path in [*Path(area.__file__).parent.glob("*.py"), Path(marker_pages.__file__)]:
        text = path.read_text()
        for column in ("given_name", "family_name", "full_name", ".uln", "Apprentice.uln", "email"):
            assert column not in text, f"{path.name} mentions {column}"
