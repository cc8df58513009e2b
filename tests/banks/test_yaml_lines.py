"""Reading YAML with lines: positions, and what PyYAML would otherwise let through quietly."""

from __future__ import annotations

from datetime import date

import pytest

from testengine.banks.yaml_lines import YamlError, load_yaml

DOC = """# a comment
top: 1
items:
  - name: first
    when: 2026-11-02
  - {name: second, tags: [a, b]}
text: >-
  folded
  over lines
"""


def test_values_are_plain_python() -> None:
    doc = load_yaml(DOC)
    assert doc.data == {
        "top": 1,
        "items": [
            {"name": "first", "when": date(2026, 11, 2)},
            {"name": "second", "tags": ["a", "b"]},
        ],
        "text": "folded over lines",
    }


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ((), 2),
        (("top",), 2),
        (("items",), 3),
        (("items", 0), 4),
        (("items", 0, "when"), 5),
        (("items", 1), 6),
        (("items", 1, "tags", 1), 6),
        (("text",), 7),
        # A path that is not there (a missing field) is placed at its nearest parent.
        (("items", 0, "missing"), 4),
        (("nowhere", 3), 2),
    ],
)
def test_every_part_knows_its_line(path: tuple[str | int, ...], line: int) -> None:
    assert load_yaml(DOC).lines.line_of(path) == line


def _issues(text: str) -> list[tuple[int, str]]:
    with pytest.raises(YamlError) as raised:
        load_yaml(text)
    return [(issue.line, issue.message) for issue in raised.value.issues]


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    ((line, message),) = _issues("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert line == 4
    assert "duplicate key 'c' (first at line 3)" in message


def test_every_duplicate_is_reported() -> None:
    assert [line for line, _ in _issues("a: 1\na: 2\nb:\n  - {x: 1, x: 2}\n")] == [2, 4]


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system [echo hi]\n",
        "a: !!python/name:os.system\n",
        "a: !custom value\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x: null}\n",
        "a: !!omap [{x: 1}]\n",
    ],
)
def test_non_standard_tags_are_refused(text: str) -> None:
    ((line, message),) = _issues(text)
    assert line == 1
    assert "YAML tag" in message and "not allowed" in message


def test_standard_tags_are_allowed() -> None:
    assert load_yaml("a: !!str yes\nb: !!int '3'\n").data == {"a": "yes", "b": 3}


def test_aliases_and_merge_keys_are_refused_where_used() -> None:
    issues = _issues("base: &b {x: 1}\nother: *b\nmerged:\n  <<: *b\n")
    assert [line for line, _ in issues] == [2, 4, 4]
    assert "aliases" in issues[0][1]
    assert any("merge keys" in message for _, message in issues)


def test_alias_bombs_do_not_explode() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    assert len(_issues(bomb)) == 8 * 9


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: c: d\n", 2),
        ("a: [1, 2\nb: 3\n", 2),
        ("a: 1\n  b: 2\n", 2),
        ("a: 1\n---\nb: 2\n", 2),
        ('a: "unclosed\n', 2),
    ],
)
def test_syntax_errors_give_pyyaml_s_line(text: str, line: int) -> None:
    ((found, message),) = _issues(text)
    assert found == line
    assert message.startswith("YAML syntax error")


def test_an_empty_document_is_none() -> None:
    assert load_yaml("# nothing here\n").data is None


def test_impossible_dates_are_reported() -> None:
    ((line, message),) = _issues("a: 1\nwhen: 2026-13-45\n")
    assert line == 2
    assert "2026-13-45" in message


def test_complex_keys_are_refused() -> None:
    ((line, message),) = _issues("? [a, b]\n: 1\n")
    assert line == 1
    assert "plain name" in message
