"""The SVG charts: well-formed, named and described for a screen reader, drawn to scale,
escaped, and their figures available as a table."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from credira.overview import charts
from credira.overview.charts import Point, Series

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own markup


def bars(svg: ET.Element) -> list[ET.Element]:
    return svg.findall(f"{SVG}rect[{SVG}title]")


def test_a_bar_chart_is_named_described_and_drawn_to_scale() -> None:
    markup = charts.bar_chart(
        "calls",
        "Calls per day",
        ["Mon", "Tue", "Wed"],
        [Series("Reached", [2, 4, 0]), Series("Not reached", [2, 0, 1])],
    )
    svg = parse(markup)
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "calls-title calls-desc"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None
    assert title.get("id") == "calls-title"
    assert title.text == "Calls per day"
    assert desc is not None
    assert desc.get("id") == "calls-desc"
    assert desc.text == (
        "Reached: 6 in all, most on Tue (4). Not reached: 3 in all, most on Mon (2)."
    )
    drawn = {
        (rect.findtext(f"{SVG}title") or ""): float(rect.get("height", "0")) for rect in bars(svg)
    }
    # A zero draws nothing; heights are proportional (stacked Tue 4 is twice Mon's 2 + 0).
    assert set(drawn) == {
        "Mon: Reached 2",
        "Mon: Not reached 2",
        "Tue: Reached 4",
        "Wed: Not reached 1",
    }
    assert drawn["Tue: Reached 4"] == pytest.approx(2 * drawn["Mon: Reached 2"])
    assert drawn["Wed: Not reached 1"] == pytest.approx(drawn["Mon: Reached 2"] / 2)


def test_side_by_side_bars_share_the_slot() -> None:
    svg = parse(
        charts.bar_chart(
            "money",
            "Money",
            ["1 Mar"],
            [Series("Promised", [Decimal("10.50")]), Series("Recovered", [Decimal("21")])],
            stacked=False,
            unit="USD",
        )
    )
    promised, recovered = bars(svg)
    assert promised.findtext(f"{SVG}title") == "1 Mar: Promised 10.5 USD"
    assert float(recovered.get("x", "0")) > float(promised.get("x", "0"))
    assert float(recovered.get("height", "0")) == pytest.approx(
        2 * float(promised.get("height", "0")), rel=0.02
    )


def test_text_is_escaped() -> None:
    markup = charts.bar_chart("x", "<script>", ["a&b"], [Series('"q"', [1])])
    assert "<script>" not in markup
    svg = parse(markup)
    assert svg.findtext(f"{SVG}title") == "<script>"


def test_an_empty_chart_says_so() -> None:
    svg = parse(charts.bar_chart("e", "Nothing", ["Mon"], [Series("Calls", [0])]))
    assert svg.findtext(f"{SVG}desc") == "Calls: none."
    assert bars(svg) == []
    with pytest.raises(ValueError, match="one value per label"):
        charts.bar_chart("e", "Bad", ["Mon", "Tue"], [Series("Calls", [1])])


def test_nice_ceiling_and_numbers() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 3, 7, 11, 240, 0.3)] == [1, 5, 10, 20, 250, 0.5]
    assert charts.format_number(Decimal("1234.50")) == "1,234.5"
    assert charts.format_number(3.0) == "3"


def test_a_timeline_places_points_in_time() -> None:
    start = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    points = [
        Point(start + timedelta(hours=1), "INV-1 at 08:00 New York"),
        Point(start + timedelta(hours=5), "INV-2 at 02:00 Tokyo", group=1),
    ]
    svg = parse(
        charts.timeline(
            "next", "Next 6 hours", start, start + timedelta(hours=6), points, groups=["a", "b"]
        )
    )
    assert svg.findtext(f"{SVG}desc") == "2 contacts between 12:00 and 18:00."
    circles = svg.findall(f"{SVG}circle")
    assert [c.findtext(f"{SVG}title") for c in circles] == [p.label for p in points]
    first, second = (float(c.get("cx", "0")) for c in circles)
    assert second > first
    ticks = [t.text for t in svg.findall(f"{SVG}text")]
    assert "12:00" in ticks
    assert "18:00" in ticks
    with pytest.raises(ValueError, match="ends after it starts"):
        charts.timeline("bad", "Bad", start, start, [])


def test_the_table_alternative_holds_the_figures() -> None:
    markup = charts.series_table(
        "Calls per day", "Day", ["Mon", "Tue"], [Series("Calls", [1200, 3])]
    )
    table = parse(markup)
    assert table.findtext("caption") == "Calls per day"
    assert [th.text for th in table.iter("th")] == ["Day", "Calls", "Mon", "Tue"]
    assert [td.text for td in table.iter("td")] == ["1,200", "3"]
    assert charts.table("<b>", ["a"], [["<i>"]]).count("&lt;") == 2


def test_a_long_legend_wraps_and_counts_get_whole_ticks() -> None:
    names = [f"Outcome {n}" for n in range(6)]
    svg = parse(charts.bar_chart("o", "Outcomes", ["Mon"], [Series(n, [1]) for n in names]))
    legend = [t for t in svg.findall(f"{SVG}text") if (t.text or "").startswith("Outcome")]
    rows = {t.get("y") for t in legend}
    assert len(rows) == 2
    width = float(svg.get("viewBox", "0 0 0 0").split()[2])
    assert all(float(t.get("x", "0")) < width - 60 for t in legend)
    ticks = {t.text for t in svg.findall(f"{SVG}text") if t.get("text-anchor") == "end"}
    assert ticks == {"0", "2", "4", "6", "8"}
