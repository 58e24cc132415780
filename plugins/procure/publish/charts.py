"""Board-pack charts: matplotlib figures rendered to inline SVG, byte-identical on re-run.

Why these settings:
- ``svg.hashsalt`` fixed and the ``Date`` metadata dropped, so the same numbers give the
  same bytes (a re-published month has an identical HTML file);
- ``svg.fonttype = none``: text stays text (selectable, read by screen readers, searchable
  in the PDF) instead of glyph paths;
- every id is prefixed with the chart's key, so several charts inline in one HTML page
  never share an id;
- the Okabe–Ito palette, distinguishable with the common colour-vision deficiencies, plus
  distinct line styles and markers so no series is told apart by colour alone;
- the SVG carries ``role="img"``, a ``<title>`` and a ``<desc>``; the page also shows every
  plotted figure in a table.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from html import escape

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

# Okabe & Ito (2008), "Color Universal Design"; black last.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
LINESTYLES = ["-", "--", "-.", ":"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]

#: every chart is drawn this wide, in inches: no wider than the PDF's text column (A4 less 14 mm margins,
#: 7.17 in), so the PDF prints it at its own size and no text in it is scaled below MIN_FONT_PT
WIDTH_IN = 7.0
#: the smallest text any chart draws, in points (the board pack's floor for printed chart text is 8 pt)
MIN_FONT_PT = 8.5

RC = {
    "svg.hashsalt": "procure-board-pack",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "figure.dpi": 72,
}
METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def money_label(v: float) -> str:
    if abs(v) >= 1e6:
        return f"£{v / 1e6:.1f}m"
    if abs(v) >= 1e3:
        return f"£{v / 1e3:.0f}k"
    return f"£{v:.0f}"


def _to_svg(fig, key: str, title: str, desc: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=METADATA, bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE: the SVG goes inline
    # Plain SVG 2 / HTML: `href` instead of xlink, and no clip paths (every mark lies inside its
    # axes), so the page holds no url(...) reference and no namespace but SVG's own.
    svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "").replace("xlink:href=", "href=")
    svg = re.sub(r'\s*clip-path="url\(#[^)]*\)"', "", svg)
    svg = re.sub(r"\s*<clipPath\b.*?</clipPath>", "", svg, flags=re.S)
    # Prefix every id (and every reference to one) so charts on one page cannot collide.
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{key}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{key}-{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{key}-{m.group(1)}"', svg)
    head_end = svg.index(">") + 1
    head = svg[:head_end].replace(
        "<svg ", f'<svg role="img" aria-labelledby="{key}-title {key}-desc" class="chart" ', 1
    )
    return (
        head
        + f'<title id="{key}-title">{escape(title)}</title><desc id="{key}-desc">{escape(desc)}</desc>'
        + svg[head_end:]
    )


def _money_axis(ax, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _pos: money_label(v))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def stacked_bar_chart(
    key: str, title: str, x_labels: Sequence[str], series: dict[str, Sequence[float]], y_label: str
) -> str:
    """Monthly totals stacked by group (e.g. service area); a legend names each group."""
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.6), layout="constrained")
        bottoms = [0.0] * len(x_labels)
        for i, (name, values) in enumerate(series.items()):
            if len(values) != len(x_labels):
                raise ValueError(f"series {name!r} has {len(values)} values for {len(x_labels)} labels")
            ax.bar(
                range(len(x_labels)),
                [max(v, 0.0) for v in values],
                bottom=bottoms,
                label=name,
                color=PALETTE[i % len(PALETTE)],
                hatch=["", "//", "..", "xx"][(i // len(PALETTE)) % 4],
                edgecolor="white",
                linewidth=0.5,
            )
            bottoms = [b + max(v, 0.0) for b, v in zip(bottoms, values, strict=True)]
        ax.set_xticks(range(len(x_labels)), x_labels)
        ax.set_title(title, loc="left")
        ax.set_xlabel("Month")
        ax.set_ylabel(y_label)
        _money_axis(ax)
        # below the bars, not beside them: a legend outside the axes widens the drawing past WIDTH_IN
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=min(len(series), 3), frameon=False)
        desc = f"Stacked bars, one per month from {x_labels[0]} to {x_labels[-1]}" if x_labels else "No data"
        return _to_svg(fig, key, title, desc + "; the figures are in the table below.")


def line_chart(
    key: str,
    title: str,
    x_labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    y_label: str,
    targets: dict[str, float] | None = None,
    percent: bool = True,
) -> str:
    """One line per series with its target as a dashed line of the same colour."""
    targets = targets or {}
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.4), layout="constrained")
        for i, (name, values) in enumerate(series.items()):
            if len(values) != len(x_labels):
                raise ValueError(f"series {name!r} has {len(values)} values for {len(x_labels)} labels")
            colour = PALETTE[i % len(PALETTE)]
            ys = [None if v is None else (v * 100 if percent else v) for v in values]
            ax.plot(
                range(len(x_labels)),
                [float("nan") if y is None else y for y in ys],
                label=name,
                color=colour,
                linestyle=LINESTYLES[i % len(LINESTYLES)] if i else "-",
                marker=MARKERS[i % len(MARKERS)],
                markersize=4,
            )
            if name in targets:
                t = targets[name] * 100 if percent else targets[name]
                ax.axhline(t, color=colour, linestyle=(0, (2, 2)), linewidth=1)
                ax.annotate(
                    f"{name} target {t:.0f}%" if percent else f"{name} target {t:,.0f}",
                    (len(x_labels) - 1, t),
                    xytext=(4, 2),
                    textcoords="offset points",
                    fontsize=MIN_FONT_PT,
                    color=colour,
                )
        ax.set_xticks(range(len(x_labels)), x_labels)
        ax.set_ylim(bottom=0)
        ax.set_title(title, loc="left")
        ax.set_xlabel("Month")
        ax.set_ylabel(y_label)
        if percent:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}%"))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=max(len(series), 1), frameon=False)
        desc = (
            f"Lines per measure, {x_labels[0]} to {x_labels[-1]}, dashed lines are targets" if x_labels else "No data"
        )
        return _to_svg(fig, key, title, desc + "; the figures are in the table below.")


def hbar_chart(key: str, title: str, labels: Sequence[str], values: Sequence[float], x_label: str) -> str:
    """Ranked horizontal bars (largest at the top), each labelled with its value."""
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels for {len(values)} values")
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.32 * max(len(values), 1) + 0.9), layout="constrained")
        short = [lbl if len(lbl) <= 40 else lbl[:39] + "…" for lbl in labels]
        ys = list(range(len(values)))[::-1]
        ax.barh(ys, [max(v, 0.0) for v in values], color=PALETTE[0])
        for y, v in zip(ys, values, strict=True):
            ax.annotate(money_label(v), (max(v, 0.0), y), xytext=(3, 0), textcoords="offset points", va="center")
        ax.set_yticks(ys, short)
        ax.set_title(title, loc="left")
        ax.set_xlabel(x_label)
        _money_axis(ax, "x")
        ax.margins(x=0.12)
        return _to_svg(fig, key, title, "Ranked horizontal bars; the figures are in the table below.")


def band_chart(
    key: str,
    title: str,
    x_labels: Sequence[str],
    actual: Sequence[float | None],
    forecast: Sequence[float | None],
    lower: Sequence[float | None],
    upper: Sequence[float | None],
    y_label: str,
) -> str:
    """Actual values as a line, then a forecast line inside its shaded prediction interval."""
    for name, values in (("actual", actual), ("forecast", forecast), ("lower", lower), ("upper", upper)):
        if len(values) != len(x_labels):
            raise ValueError(f"{name} has {len(values)} values for {len(x_labels)} labels")
    nan = float("nan")
    xs = list(range(len(x_labels)))
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.4), layout="constrained")
        band = [(x, lo, hi) for x, lo, hi in zip(xs, lower, upper, strict=True) if lo is not None and hi is not None]
        if band:
            ax.fill_between(
                [b[0] for b in band],
                [b[1] for b in band],
                [b[2] for b in band],
                color=PALETTE[4],
                alpha=0.35,
                linewidth=0,
                label="95% prediction interval",
            )
        ax.plot(
            xs, [nan if v is None else v for v in actual], color=PALETTE[0], marker="o", markersize=3, label="Actual"
        )
        ax.plot(
            xs,
            [nan if v is None else v for v in forecast],
            color=PALETTE[5],
            linestyle="--",
            marker="s",
            markersize=3,
            label="Forecast",
        )
        step = max(1, len(x_labels) // 12)
        ax.set_xticks(xs[::step], list(x_labels)[::step])
        ax.set_title(title, loc="left")
        ax.set_xlabel("Month")
        ax.set_ylabel(y_label)
        _money_axis(ax, "y")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)
        desc = f"Actual then forecast spend, {x_labels[0]} to {x_labels[-1]}, shaded band is the 95% interval"
        return _to_svg(fig, key, title, desc + "; the figures are in the table below.")
