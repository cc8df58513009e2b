"""Chart geometry for the reviewer's pages, drawn as inline SVG by templates/reviewer/charts.html.

No JavaScript chart library (the CSP allows no inline script, and a chart must work without
script): the server works out every coordinate, the template writes the SVG elements, and each
chart comes with a title, a description and a data table for people who cannot see it.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..services.statistics import ItemResult, Reliability

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 48


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position along its axis
    label: str


@dataclass(frozen=True)
class Guide:
    """A reference line (a flag threshold, a grade boundary) with its label."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    label_x: float
    label_y: float
    anchor: str = "start"  # SVG text-anchor of the label


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str
    flagged: bool


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    shade: int  # 0, 1, 2: which series (drawn with decreasing opacity)


@dataclass(frozen=True)
class LegendItem:
    x: float  # left of the swatch
    y: float  # top of the swatch
    shade: int
    label: str


LEGEND_BAND = 28  # px above the plot kept for the legend, so it never sits on the bars
SWATCH = 12
CHAR_WIDTH = 7  # about the width of a 12 px character


@dataclass
class Chart:
    id: str
    title: str
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_label: str = ""
    y_label: str = ""
    guides: list[Guide] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    legend: list[tuple[int, str]] = field(default_factory=list)

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def plot_top(self) -> int:
        return TOP + (LEGEND_BAND if self.legend else 0)

    @property
    def legend_items(self) -> list[LegendItem]:
        """The legend in one row in its own band above the plot, left to right from the plot's left edge."""
        items: list[LegendItem] = []
        x = float(self.plot_left)
        for shade, label in self.legend:
            items.append(LegendItem(x, TOP / 2, shade, label))
            x += SWATCH + 6 + CHAR_WIDTH * len(label) + 18
        return items

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM


def _scale(lo: float, hi: float, a: float, b: float):  # type: ignore[no-untyped-def]
    return lambda v: a + (v - lo) / (hi - lo) * (b - a)


def facility_discrimination(items: Sequence[ItemResult], *, chart_id: str = "scatter") -> Chart:
    """Each item as a dot: facility across, discrimination up, with the flag thresholds drawn."""
    chart = Chart(
        id=chart_id,
        title="Facility against discrimination",
        description="",
        x_label="Facility (share of marks gained)",
        y_label="Discrimination (item-rest r)",
    )
    x = _scale(0.0, 1.0, chart.plot_left, chart.plot_right)
    y = _scale(-1.0, 1.0, chart.plot_bottom, chart.plot_top)
    chart.x_ticks = [Tick(x(v / 10), f"{v / 10:.1f}") for v in range(0, 11, 2)]
    chart.y_ticks = [Tick(y(v / 2), f"{v / 2:.1f}") for v in range(-2, 3)]
    top, bottom = chart.plot_top, chart.plot_bottom
    chart.guides.append(Guide(x(0.2), top, x(0.2), bottom, "too hard below 0.2", x(0.2) - 4, top + 12, "end"))
    chart.guides.append(Guide(x(0.9), top, x(0.9), bottom, "too easy above 0.9", x(0.9) - 4, top + 12, "end"))
    for at, label in ((0.15, "low below 0.15"), (0.0, "negative below 0")):
        chart.guides.append(
            Guide(
                chart.plot_left,
                y(at),
                chart.plot_right,
                y(at),
                label,
                chart.plot_right - 4,
                y(at) - 4,
                "end",
            )
        )
    plotted = 0
    for item in items:
        if math.isnan(item.facility) or math.isnan(item.discrimination):
            continue
        plotted += 1
        chart.dots.append(
            Dot(
                x(item.facility),
                y(item.discrimination),
                f"{item.info.external_id} v{item.info.version}: facility {item.facility:.2f},"
                f" discrimination {item.discrimination:.2f}" + (f", flagged {', '.join(item.flags)}" if item.flags else ""),
                bool(item.flags),
            )
        )
    flagged = sum(1 for dot in chart.dots if dot.flagged)
    chart.description = (
        f"{plotted} of {len(items)} items plotted ({len(items) - plotted} without a defined discrimination);"
        f" {flagged} flagged. Dashed lines mark the flag thresholds. The table below gives every value."
    )
    return chart


def option_bars(item: ItemResult, *, chart_id: str = "options") -> Chart:
    """Share choosing each option (and leaving it blank), overall and in the top and bottom groups."""
    letters = list(string.ascii_uppercase[: item.info.options]) + ["blank"]
    names = [f"{letter} (key)" if i == item.info.key else letter for i, letter in enumerate(letters)]
    chart = Chart(
        id=chart_id,
        title=f"Options chosen for {item.info.external_id}",
        description="",
        height=300,
        x_label="Option (original order)",
        y_label="Share of responses",
        legend=[(0, "All"), (1, "Top 27%"), (2, "Bottom 27%")],
    )
    y = _scale(0.0, 1.0, chart.plot_bottom, chart.plot_top)
    chart.y_ticks = [Tick(y(v / 4), f"{v * 25}%") for v in range(5)]
    slot = (chart.plot_right - chart.plot_left) / len(letters)
    bar_width = slot * 0.8 / 3
    groups = ("overall", "upper", "lower")
    parts = []
    for i, name in enumerate(names):
        left = chart.plot_left + i * slot + slot * 0.1
        chart.x_ticks.append(Tick(chart.plot_left + (i + 0.5) * slot, name))
        shares = []
        for shade, group in enumerate(groups):
            value = item.option_shares.get(group, [math.nan] * len(letters))[i]
            shares.append("n/a" if math.isnan(value) else f"{value:.0%}")
            if math.isnan(value):
                continue
            top = y(value)
            chart.bars.append(
                Bar(
                    left + shade * bar_width,
                    top,
                    bar_width,
                    chart.plot_bottom - top,
                    f"{name}: {value:.0%}",
                    shade,
                )
            )
        parts.append(f"{name} {shares[0]} (top {shares[1]}, bottom {shares[2]})")
    chart.description = f"Of {item.option_n} responses: " + "; ".join(parts) + "."
    return chart


def score_histogram(
    group: Reliability,
    boundaries: Sequence[tuple[str, int, int]],
    max_total: int,
    *,
    chart_id: str = "scores",
) -> Chart:
    """How many scripts got each total, with each grade boundary drawn where the grade starts."""
    chart = Chart(
        id=chart_id,
        title=f"Score distribution: {group.label}",
        description="",
        x_label=f"Total mark (0 to {max_total})",
        y_label="Scripts",
    )
    top_count = max(group.distribution + [1])
    x = _scale(0.0, max_total + 1, chart.plot_left, chart.plot_right)
    y = _scale(0.0, top_count, chart.plot_bottom, chart.plot_top)
    step = max(1, math.ceil(top_count / 5))
    chart.y_ticks = [Tick(y(v), str(v)) for v in range(0, top_count + 1, step)]
    chart.x_ticks = [Tick(x(v + 0.5), str(v)) for v in range(0, max_total + 1, 10 if max_total > 30 else 5)]
    width = x(1) - x(0)
    for total, count in enumerate(group.distribution):
        if count:
            top = y(count)
            label = f"{total} marks: {count} script{'s' if count != 1 else ''}"
            chart.bars.append(Bar(x(total) + 0.5, top, max(width - 1, 1), chart.plot_bottom - top, label, 0))
    bands = []
    for grade, low, high in boundaries:
        in_band = sum(group.distribution[low : high + 1])
        bands.append(f"{grade} ({low}-{high}): {in_band}")
        if low > 0:  # labels step down the chart so neighbouring boundaries never overlap
            at = x(low)
            label_y = chart.plot_top + 12 + 14 * len(chart.guides)
            room_right = at + 4 + 6 * len(f"{grade} from {low}") < chart.width  # about 6 px a character
            chart.guides.append(
                Guide(
                    at,
                    chart.plot_top,
                    at,
                    chart.plot_bottom,
                    f"{grade} from {low}",
                    at + 4 if room_right else at - 4,
                    label_y,
                    "start" if room_right else "end",
                )
            )
    chart.description = f"{group.scripts} scripts. By grade: " + "; ".join(bands) + "."
    return chart
