"""`testengine bank stats --standard S [--json]`: item statistics and reliability from marked scripts."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from .command import bank_group, fail


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


@bank_group.command("stats")
@click.option("--standard", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (undefined statistics are null)")
@click.option(
    "--min-responses",
    default=30,
    show_default=True,
    type=click.IntRange(min=1),
    help="Responses an item needs before it is flagged",
)
@with_appcontext
def stats(standard: str, as_json: bool, min_responses: int) -> None:
    """Facility, discrimination, distractors, marker agreement and flags per item; reliability per sitting."""
    from ..services.banks import UnknownStandard, get_standard
    from ..services.statistics import bank_statistics
    from .progress import progress

    try:
        row = get_standard(standard)
    except UnknownStandard as error:
        fail(str(error))
    with progress(f"Statistics for {row.code}") as step:
        data = bank_statistics(row, min_responses=min_responses, progress=step).as_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(
        f"{data['standard']}: {data['scripts']} marked scripts ({data['awaiting_marking']} still being marked),"
        f" {len(data['items'])} items with responses"
    )
    for item in data["items"]:
        low, high = item["facility_ci"]
        flags = ", ".join(item["flags"]) or "-"
        click.echo(
            f"  {item['question']} v{item['version']}: n {item['n']}, facility {_fmt(item['facility'])}"
            f" [{_fmt(low)}, {_fmt(high)}], r {_fmt(item['discrimination'])}, upper-lower {_fmt(item['upper_lower'])},"
            f" issued {item['issued']}, flags {flags}"
        )
    for group in ([data["overall"]] if data["overall"] else []) + data["sittings"]:
        click.echo(
            f"{group['label']}: {group['scripts']} scripts, mean {_fmt(group['mean'], '.1f')},"
            f" {group['method']} {_fmt(group['reliability'])}, SEM {_fmt(group['sem'], '.1f')}"
        )
