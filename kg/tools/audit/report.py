"""The audit's report for people: one self-contained HTML page (its plots inline SVG drawn by
matplotlib, no script, nothing fetched), and the orders as Parquet beside orders.csv."""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

from kg.answer.rating import RATINGS

#: The ratings' colours in the plots (colour-blind safe, Okabe-Ito), with their names in the legend.
COLOURS = {
    "appropriate": "#009E73",
    "may-be-appropriate": "#56B4E9",
    "not-appropriate": "#D55E00",
    "no-criteria-apply": "#999999",
}


class ParquetRows:
    """orders.parquet written a batch of rows at a time (a row group each), every column a string
    (as in orders.csv); an empty file with the columns if no row came."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self.columns = columns
        self.schema = pa.schema([(name, pa.string()) for name in columns])
        self._writer = pq.ParquetWriter(path, self.schema)

    def add(self, rows: list[tuple[str, ...]]) -> None:
        """Append ``rows`` (tuples in the order of the columns) as a row group."""
        if rows:
            pa = self._pa
            arrays = [pa.array(column, type=pa.string()) for column in zip(*rows, strict=True)]
            self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self._writer.close()


def _svg(figure: Any) -> str:
    """The figure as inline SVG, its text as text (selectable, read by screen readers, and less
    than half the size of text drawn as paths), in the page's sans-serif fonts."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _stacked(groups: dict[str, dict[str, Any]], title: str, horizontal: bool = True) -> str:
    """A stacked bar per group: its orders by rating."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    names = list(groups)
    height = max(2.0, 0.35 * len(names) + 1.2) if horizontal else 3.2
    figure, axes = pyplot.subplots(figsize=(7.5, height))
    left = [0] * len(names)
    for rating in RATINGS:
        values = [groups[name].get(rating, 0) for name in names]
        if horizontal:
            axes.barh(names, values, left=left, color=COLOURS[rating], label=rating)
        else:
            axes.bar(names, values, bottom=left, color=COLOURS[rating], label=rating)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_title(title, loc="left", fontsize=11)
    if horizontal:
        axes.invert_yaxis()
        axes.set_xlabel("orders")
    else:
        axes.set_ylabel("orders")
        axes.tick_params(axis="x", labelrotation=45)
    axes.legend(fontsize=8, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.08), frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    svg = _svg(figure)
    pyplot.close(figure)
    return svg


def _trend(by_month: dict[str, dict[str, Any]]) -> str:
    """The share appropriate by month."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    months = [m for m in by_month if m != "(none)"]
    figure, axes = pyplot.subplots(figsize=(7.5, 2.8))
    shares = [100 * (by_month[m]["share_appropriate"] or 0) for m in months]
    axes.plot(months, shares, marker="o", color=COLOURS["appropriate"])
    axes.set_ylim(0, 100)
    axes.set_ylabel("% appropriate")
    axes.set_title("Share appropriate by month", loc="left", fontsize=11)
    axes.tick_params(axis="x", labelrotation=45)
    axes.spines[["top", "right"]].set_visible(False)
    svg = _svg(figure)
    pyplot.close(figure)
    return svg


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f}%"


def _table(groups: dict[str, dict[str, Any]], first: str) -> str:
    head = "".join(f"<th scope='col'>{html.escape(r)}</th>" for r in RATINGS)
    body = "".join(
        f"<tr><th scope='row'>{html.escape(name)}</th><td>{g['orders']}</td>"
        + "".join(f"<td>{g.get(r, 0)}</td>" for r in RATINGS)
        + f"<td>{_percent(g['share_appropriate'])}</td></tr>"
        for name, g in groups.items()
    )
    return (
        f"<table><thead><tr><th scope='col'>{html.escape(first)}</th><th scope='col'>orders</th>{head}"
        f"<th scope='col'>% appropriate</th></tr></thead><tbody>{body}</tbody></table>"
    )


def html_report(report: dict[str, Any]) -> str:
    """The report as one HTML page."""
    overall = report["overall"]
    share = overall["share_appropriate"]
    patterns = "".join(
        f"<tr><td>{html.escape(p['ordered_procedure'] or '(no kg procedure)')}</td>"
        f"<td>{html.escape(p['urgency'])}</td>"
        f"<td>{html.escape(p['recommended_procedure'] or 'no imaging')}</td><td>{p['orders']}</td>"
        f"<td>{html.escape(p['example_order'])}</td></tr>"
        for p in report["not_appropriate_patterns"]
    )
    unmapped = "".join(
        f"<li><code>{html.escape(code)}</code>: {count}</li>"
        for code, count in report["unmapped_codes"].items()
    )
    problems = "".join(
        f"<li>{html.escape(p['file'])}{'' if p['line'] is None else ':' + str(p['line'])}: "
        f"{html.escape(p['message'])}</li>"
        for p in report["problems_shown"]
    )
    sections = [
        f"<p class='lead'><strong>{_percent(share)}</strong> of "
        f"{report['orders']:,} imaging orders were appropriate (the first recommendation or as good).</p>",
        _stacked({"all orders": overall}, "Orders by rating"),
        "<h2>By month</h2>",
        _trend(report["by_month"]),
        _table(report["by_month"], "month"),
        "<h2>By ordered procedure</h2>",
        _stacked(report["by_procedure"], "Orders by procedure and rating"),
        _table(report["by_procedure"], "procedure"),
        "<h2>By ordering service</h2>",
        _stacked(report["by_service"], "Orders by service and rating"),
        _table(report["by_service"], "service"),
        "<h2>By presentation (of the first recommendation)</h2>",
        _table(report["by_presentation"], "presentation"),
        "<h2>Most common not-appropriate orders</h2>",
        "<table><thead><tr><th scope='col'>ordered</th><th scope='col'>urgency</th>"
        "<th scope='col'>kg recommends</th><th scope='col'>orders</th><th scope='col'>example order</th>"
        f"</tr></thead><tbody>{patterns}</tbody></table>",
        "<h2>Data quality</h2>",
        f"<p>{report['rejected_orders']} orders had no case kg could answer (out of scope, contradictory, "
        f"or data missing): rated no-criteria-apply. {report['problems']} input problems.</p>",
        f"<h3>Codes kg does not know</h3><ul>{unmapped or '<li>none</li>'}</ul>",
        f"<h3>Input problems (first {len(report['problems_shown'])})</h3>"
        f"<ul>{problems or '<li>none</li>'}</ul>",
    ]
    style = (
        "body{font:15px/1.45 system-ui,sans-serif;margin:1rem auto;max-width:60rem;padding:0 1rem;"
        "color:#1a1a1a}table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border-bottom:1px solid #ccc;"
        "padding:.2rem .6rem;text-align:right}th[scope=row],td:first-child{text-align:left}"
        ".lead{font-size:1.2rem}"
        "svg{max-width:100%;height:auto}.note{color:#4a4a4a}"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>kg audit: imaging orders for low back pain</title><style>{style}</style></head><body>"
        "<h1>Imaging orders for low back pain, against the guideline</h1>"
        f"<p class='note'>Ontology version <code>{html.escape(report['ontology_version'])}</code>. "
        f"{html.escape(report['disclaimer'])}</p>" + "".join(sections) + "</body></html>\n"
    )
