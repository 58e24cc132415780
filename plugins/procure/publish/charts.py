"""Board-pack charts: SVG written directly, byte-identical on re-run.

The charts are drawn here, mark by mark, into plain SVG (no library draws them): a pack's four
charts cost about a millisecond each, where matplotlib took ~0.1 s a chart and left WeasyPrint a
styled, grouped drawing to cascade. What the drawing keeps:
- text stays text (selectable, read by screen readers, searchable in the PDF) in DejaVu Sans,
  the pack's font; label widths come from the font's own advance widths (``text_width``), so the
  layout is the same on every machine whatever fonts it has;
- nothing from the clock or the machine: the same numbers give the same bytes;
- every id is prefixed with the chart's key, so several charts inline in one HTML page never
  share an id;
- the Okabe–Ito palette, distinguishable with the common colour-vision deficiencies, plus
  distinct line styles, markers and hatching so no series is told apart by colour alone;
- the SVG carries ``role="img"``, a ``<title>`` and a ``<desc>``; the page also shows every
  plotted figure in a table;
- presentation attributes only (no ``style``, no CSS, no nesting), which WeasyPrint's SVG
  renderer reads without a cascade.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

# Okabe & Ito (2008), "Color Universal Design"; black last.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
LINESTYLES = ["-", "--", "-.", ":"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
HATCHES = ["", "//", "..", "xx"]  # a fill pattern for each pass through the palette

#: every chart is drawn this wide, in inches: no wider than the PDF's text column (A4 less 14 mm margins,
#: 7.17 in), so the PDF prints it at its own size and no text in it is scaled below MIN_FONT_PT
WIDTH_IN = 7.0
#: the smallest text any chart draws, in points (the board pack's floor for printed chart text is 8 pt)
MIN_FONT_PT = 8.5
TITLE_PT = 10.0
FONT = "DejaVu Sans"
INK = "#1b1b1b"
PT = 72.0  # points per inch: the drawing's unit

# DejaVu Sans advance widths (font units of 2048 per em), regular and bold, from the font files
# (as shipped with matplotlib and Debian's fonts-dejavu-core); other characters count as an 'n'.
# fmt: off
_CHARS = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~£…−–—’‘“”éèáàöüäñçÆØÅæøå€·'
_REGULAR = [651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253, 1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716, 1303, 2048, 1716, 1024, 2048, 651, 651, 1061, 1061, 1260, 1260, 1255, 1255, 1253, 1298, 1255, 1298, 1126, 1995, 1612, 1401, 2011, 1253, 1255, 1303, 651]
_BOLD = [713, 934, 1067, 1716, 1425, 2052, 1786, 627, 936, 936, 1071, 1716, 778, 850, 778, 748, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 819, 819, 1716, 1716, 1716, 1188, 2048, 1585, 1561, 1503, 1700, 1399, 1399, 1681, 1714, 762, 762, 1587, 1305, 2038, 1714, 1741, 1501, 1741, 1577, 1475, 1397, 1663, 1585, 2259, 1579, 1483, 1485, 936, 748, 936, 1716, 1024, 1024, 1382, 1466, 1214, 1466, 1389, 891, 1466, 1458, 702, 702, 1362, 702, 2134, 1458, 1407, 1466, 1466, 1010, 1219, 979, 1458, 1335, 1892, 1321, 1335, 1192, 1458, 748, 1458, 1716, 1425, 2048, 1716, 1024, 2048, 778, 778, 1346, 1346, 1389, 1389, 1382, 1382, 1407, 1458, 1382, 1458, 1214, 2222, 1741, 1585, 2146, 1407, 1382, 1425, 778]
# fmt: on
_UNITS = 2048.0
_WIDTHS = {False: dict(zip(_CHARS, _REGULAR, strict=True)), True: dict(zip(_CHARS, _BOLD, strict=True))}
_DASHES = {"-": "", "--": "5.6,2.4", "-.": "9.6,2.4,1.5,2.4", ":": "1.5,2.5"}


def text_width(text: str, size: float = MIN_FONT_PT, bold: bool = False) -> float:
    """Width in points of ``text`` set in DejaVu Sans at ``size`` points."""
    widths = _WIDTHS[bold]
    return sum(widths.get(ch, widths["n"]) for ch in text) * size / _UNITS


def money_label(v: float) -> str:
    if abs(v) >= 1e6:
        return f"£{v / 1e6:.1f}m"
    if abs(v) >= 1e3:
        return f"£{v / 1e3:.0f}k"
    return f"£{v:.0f}"


def _n(v: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros, never '-0'."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def nice_ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


class _Svg:
    """One chart's marks, in drawing order, with its id prefix."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.defs: list[str] = []
        self.marks: list[str] = []

    def text(self, x: float, y: float, s: str, anchor: str = "start", size: float = MIN_FONT_PT, **attrs) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
        font = "" if size == MIN_FONT_PT else f' font-size="{_n(size)}"'
        pos = "" if anchor == "start" else f' text-anchor="{anchor}"'
        self.marks.append(f'<text x="{_n(x)}" y="{_n(y)}"{font}{pos}{extra}>{escape(s)}</text>')

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = INK, width: float = 0.8, dash="") -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.marks.append(
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
            f'stroke-width="{_n(width)}"{d}/>'
        )

    def rect(self, x: float, y: float, w: float, h: float, fill: str, **attrs) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
        self.marks.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0.0))}" height="{_n(max(h, 0.0))}" fill="{fill}"{extra}/>'
        )

    def path(self, d: str, **attrs) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
        self.marks.append(f'<path d="{d}"{extra}/>')

    def hatch(self, kind: str) -> str:
        """A fill pattern's reference (defined once per chart): diagonal lines, dots or crossed lines."""
        pid = f"{self.key}-hatch-{HATCHES.index(kind)}"
        if not any(f'id="{pid}"' in d for d in self.defs):
            lines = {
                "//": '<path d="M0 6L6 0M-1 1L1 -1M5 7L7 5" stroke="#ffffff" stroke-width="1"/>',
                "..": '<circle cx="3" cy="3" r="0.9" fill="#ffffff"/>',
                "xx": '<path d="M0 6L6 0M0 0L6 6" stroke="#ffffff" stroke-width="0.8"/>',
            }[kind]
            self.defs.append(
                f'<pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse">{lines}</pattern>'
            )
        return f"url(#{pid})"

    def marker(self, kind: str, x: float, y: float, size: float, colour: str) -> None:
        r = size / 2
        shapes = {
            "o": f"M{_n(x - r)} {_n(y)}a{_n(r)} {_n(r)} 0 1 0 {_n(2 * r)} 0a{_n(r)} {_n(r)} 0 1 0 {_n(-2 * r)} 0Z",
            "s": f"M{_n(x - r)} {_n(y - r)}h{_n(2 * r)}v{_n(2 * r)}h{_n(-2 * r)}Z",
            "^": f"M{_n(x)} {_n(y - r)}L{_n(x + r)} {_n(y + r)}L{_n(x - r)} {_n(y + r)}Z",
            "v": f"M{_n(x)} {_n(y + r)}L{_n(x + r)} {_n(y - r)}L{_n(x - r)} {_n(y - r)}Z",
            "D": f"M{_n(x)} {_n(y - r)}L{_n(x + r)} {_n(y)}L{_n(x)} {_n(y + r)}L{_n(x - r)} {_n(y)}Z",
        }
        t = r / 3
        shapes["P"] = (
            f"M{_n(x - t)} {_n(y - r)}h{_n(2 * t)}v{_n(r - t)}h{_n(r - t)}v{_n(2 * t)}h{_n(t - r)}v{_n(r - t)}"
            f"h{_n(-2 * t)}v{_n(t - r)}h{_n(t - r)}v{_n(-2 * t)}h{_n(r - t)}Z"
        )
        shapes["X"] = (
            f"M{_n(x - r)} {_n(y - r)}L{_n(x + r)} {_n(y + r)}M{_n(x - r)} {_n(y + r)}L{_n(x + r)} {_n(y - r)}"
        )
        points = [
            (
                x + (r if i % 2 == 0 else r / 2.4) * math.sin(i * math.pi / 5),
                y - (r if i % 2 == 0 else r / 2.4) * math.cos(i * math.pi / 5),
            )
            for i in range(10)
        ]
        shapes["*"] = "M" + "L".join(f"{_n(px)} {_n(py)}" for px, py in points) + "Z"
        if kind == "X":
            self.path(shapes["X"], stroke=colour, stroke_width="1.5", fill="none")
        else:
            self.path(shapes[kind], fill=colour)

    def render(self, width: float, height: float, title: str, desc: str) -> str:
        head = (
            f'<svg role="img" aria-labelledby="{self.key}-title {self.key}-desc" class="chart" '
            f'xmlns="http://www.w3.org/2000/svg" width="{_n(width)}pt" height="{_n(height)}pt" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{FONT}" font-size="{_n(MIN_FONT_PT)}" fill="{INK}">'
        )
        defs = f"<defs>{''.join(self.defs)}</defs>" if self.defs else ""
        return (
            head
            + f'<title id="{self.key}-title">{escape(title)}</title><desc id="{self.key}-desc">{escape(desc)}</desc>'
            + defs
            + f'<rect width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>'
            + "".join(self.marks)
            + "</svg>"
        )


class _Frame:
    """Where the axes sit in a chart of WIDTH_IN, and how values map onto them."""

    def __init__(self, left: float, top: float, right: float, bottom: float, lo: float, hi: float) -> None:
        self.left, self.top, self.right, self.bottom = left, top, right, bottom
        self.lo, self.hi = lo, hi if hi > lo else lo + 1.0

    def y(self, v: float) -> float:
        return self.bottom - (v - self.lo) / (self.hi - self.lo) * (self.bottom - self.top)

    def x(self, v: float) -> float:
        return self.left + (v - self.lo) / (self.hi - self.lo) * (self.right - self.left)


def _legend_layout(labels: list[str], ncol: int, room: float) -> tuple[int, list[float]]:
    """The most columns (up to ``ncol``) whose entries fit across ``room`` points, and each column's width."""
    for cols in range(max(1, min(ncol, len(labels))), 0, -1):
        widths = [max(text_width(s) for s in labels[c::cols]) + 34 for c in range(cols)]
        if sum(widths) <= room or cols == 1:
            return cols, widths
    return 1, [room]


def _legend_rows(labels: list[str], ncol: int) -> int:
    if not labels:
        return 0
    cols, _ = _legend_layout(labels, ncol, WIDTH_IN * PT - 16)
    return math.ceil(len(labels) / cols)


def _clip(label: str, room: float) -> str:
    """The label, cut with an ellipsis to fit ``room`` points."""
    if text_width(label) <= room:
        return label
    while label and text_width(label + "…") > room:
        label = label[:-1]
    return label + "…"


def _legend(svg: _Svg, entries: list[tuple[str, Callable[[float, float], None]]], ncol: int, top: float) -> None:
    """Entries (label, draw-the-key-at(x, y)) in rows of up to ``ncol`` that fit the chart's width, centred."""
    if not entries:
        return
    room = WIDTH_IN * PT - 16
    cols, widths = _legend_layout([label for label, _ in entries], ncol, room)
    left = max(8.0, (WIDTH_IN * PT - sum(widths)) / 2)
    for i, (label, key) in enumerate(entries):
        row, col = divmod(i, cols)
        x, y = left + sum(widths[:col]), top + row * 13 + 9
        key(x + 10, y - 3)
        svg.text(x + 24, y, _clip(label, room - 24))


def _y_axis(svg: _Svg, f: _Frame, ticks: list[float], fmt: Callable[[float], str], label: str) -> None:
    svg.line(f.left, f.top, f.left, f.bottom)
    for t in ticks:
        y = f.y(t)
        svg.line(f.left - 3.5, y, f.left, y)
        svg.text(f.left - 5.5, y + 3, fmt(t), "end")
    svg.text(0, 0, label, "middle", transform=f"translate({_n(11)} {_n((f.top + f.bottom) / 2)}) rotate(-90)")


def _x_labels(svg: _Svg, f: _Frame, centres: list[float], labels: Sequence[str], every: int = 1) -> float:
    """Month labels under the axis (every ``every``-th, or fewer when they would overlap); returns the y below them."""
    svg.line(f.left, f.bottom, f.right, f.bottom)
    slot = (f.right - f.left) / max(len(labels), 1)
    widest = max((text_width(s) for s in labels), default=0.0)
    step = max(every, math.ceil((widest + 2) / slot) if slot else 1)
    for i in range(0, len(labels), step):
        svg.line(centres[i], f.bottom, centres[i], f.bottom + 3.5)
        svg.text(centres[i], f.bottom + 14, labels[i], "middle")
    return f.bottom + 18


def _month_axis(svg: _Svg, f: _Frame, centres: list[float], labels: Sequence[str], every: int = 1) -> float:
    """The month labels and the axis title under the drawing; returns where the legend starts."""
    below = _x_labels(svg, f, centres, labels, every)
    svg.text((f.left + f.right) / 2, below + 10, "Month", "middle")
    return below + 16


def _title(svg: _Svg, x: float, title: str) -> None:
    svg.text(x, 14, title, size=TITLE_PT, font_weight="bold")


def _check(name: str, values: Sequence, labels: Sequence) -> None:
    if len(values) != len(labels):
        raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")


def _frame_for(ticks: list[float], fmt: Callable[[float], str], legend_rows: int, height_in: float, right: float = 0):
    width, height = WIDTH_IN * PT, height_in * PT
    left = 22 + max(text_width(fmt(t)) for t in ticks) + 6
    bottom = height - 18 - 14 - legend_rows * 13 - 8
    return width, height, _Frame(left, 26, width - 8 - right, bottom, ticks[0], ticks[-1])


def stacked_bar_chart(
    key: str, title: str, x_labels: Sequence[str], series: dict[str, Sequence[float]], y_label: str
) -> str:
    """Monthly totals stacked by group (e.g. service area); a legend names each group."""
    for name, values in series.items():
        _check(name, values, x_labels)
    n = len(x_labels)
    totals = [sum(max(v[i], 0.0) for v in series.values()) for i in range(n)]
    ticks = nice_ticks(0.0, max(totals, default=0.0) or 1.0)
    ncol = min(len(series), 3) or 1
    width, height, f = _frame_for(ticks, money_label, _legend_rows(list(series), ncol), 3.6)
    f = _Frame(f.left, f.top, f.right, f.bottom, ticks[0], ticks[-1])
    svg = _Svg(key)
    _title(svg, f.left, title)
    slot = (f.right - f.left) / max(n, 1)
    centres = [f.left + slot * (i + 0.5) for i in range(n)]
    bottoms = [0.0] * n
    legend = []
    for i, (name, values) in enumerate(series.items()):
        colour, hatch = PALETTE[i % len(PALETTE)], HATCHES[(i // len(PALETTE)) % len(HATCHES)]
        for j, v in enumerate(values):
            v = max(v, 0.0)
            top = f.y(bottoms[j] + v)
            svg.rect(
                centres[j] - slot * 0.4,
                top,
                slot * 0.8,
                f.y(bottoms[j]) - top,
                colour,
                stroke="#ffffff",
                stroke_width="0.5",
            )
            if hatch:
                svg.rect(centres[j] - slot * 0.4, top, slot * 0.8, f.y(bottoms[j]) - top, svg.hatch(hatch))
            bottoms[j] += v

        def swatch(x, y, colour=colour, hatch=hatch):
            svg.rect(x - 7, y - 4, 14, 8, colour)
            if hatch:
                svg.rect(x - 7, y - 4, 14, 8, svg.hatch(hatch))

        legend.append((name, swatch))
    _y_axis(svg, f, ticks, money_label, y_label)
    _legend(svg, legend, ncol, _month_axis(svg, f, centres, x_labels))
    desc = f"Stacked bars, one per month from {x_labels[0]} to {x_labels[-1]}" if x_labels else "No data"
    return svg.render(width, height, title, desc + "; the figures are in the table below.")


def _polyline(svg: _Svg, xs: list[float], ys: list[float | None], colour: str, style: str, marker: str, size: float):
    """A line through the points, broken where a value is missing, with a marker at each point."""
    runs, current = [], []
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((x, y))
    if current:
        runs.append(current)
    d = "".join("M" + "L".join(f"{_n(x)} {_n(y)}" for x, y in run) for run in runs if len(run) > 1)
    if d:
        dash = {"stroke_dasharray": _DASHES[style]} if _DASHES[style] else {}
        svg.path(d, fill="none", stroke=colour, stroke_width="1.5", stroke_linejoin="round", **dash)
    for run in runs:
        for x, y in run:
            svg.marker(marker, x, y, size, colour)


def _line_key(svg: _Svg, colour: str, style: str, marker: str, size: float):
    def key(x, y):
        dash = {"stroke_dasharray": _DASHES[style]} if _DASHES[style] else {}
        svg.path(f"M{_n(x - 10)} {_n(y)}H{_n(x + 10)}", fill="none", stroke=colour, stroke_width="1.5", **dash)
        svg.marker(marker, x, y, size, colour)

    return key


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
    for name, values in series.items():
        _check(name, values, x_labels)
    scale = 100.0 if percent else 1.0
    scaled = {n: [None if v is None else v * scale for v in vals] for n, vals in series.items()}
    goals = {n: t * scale for n, t in targets.items() if n in series}
    top = max([v for vals in scaled.values() for v in vals if v is not None] + list(goals.values()) + [0.0])
    ticks = nice_ticks(0.0, top * 1.05 or 1.0)
    fmt = (lambda v: f"{v:.0f}%") if percent else (lambda v: f"{v:,.0f}")
    notes = {n: (f"{n} target {t:.0f}%" if percent else f"{n} target {t:,.0f}") for n, t in goals.items()}
    right = max((text_width(s) for s in notes.values()), default=0.0) + 6 if notes else 0.0
    ncol = max(len(series), 1)
    width, height, f = _frame_for(ticks, fmt, _legend_rows(list(series), ncol), 3.4, right)
    svg = _Svg(key)
    _title(svg, f.left, title)
    n = len(x_labels)
    pad = (f.right - f.left) * 0.05
    xs = [f.left + pad + (f.right - f.left - 2 * pad) * (i / max(n - 1, 1)) for i in range(n)]
    legend = []
    for i, (name, values) in enumerate(scaled.items()):
        colour = PALETTE[i % len(PALETTE)]
        style = LINESTYLES[i % len(LINESTYLES)] if i else "-"
        marker = MARKERS[i % len(MARKERS)]
        if name in goals:
            y = f.y(goals[name])
            svg.line(f.left, y, f.right, y, colour, 1.0, "2,2")
            svg.text((xs[-1] if xs else f.right) + 4, y - 2, notes[name], fill=colour)
        _polyline(svg, xs, [None if v is None else f.y(v) for v in values], colour, style, marker, 5.0)
        legend.append((name, _line_key(svg, colour, style, marker, 5.0)))
    _y_axis(svg, f, ticks, fmt, y_label)
    _legend(svg, legend, ncol, _month_axis(svg, f, xs, x_labels))
    desc = f"Lines per measure, {x_labels[0]} to {x_labels[-1]}, dashed lines are targets" if x_labels else "No data"
    return svg.render(width, height, title, desc + "; the figures are in the table below.")


def hbar_chart(key: str, title: str, labels: Sequence[str], values: Sequence[float], x_label: str) -> str:
    """Ranked horizontal bars (largest at the top), each labelled with its value."""
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels for {len(values)} values")
    short = [lbl if len(lbl) <= 40 else lbl[:39] + "…" for lbl in labels]
    ticks = nice_ticks(0.0, max([max(v, 0.0) for v in values] + [0.0]) * 1.12 or 1.0)
    width, height = WIDTH_IN * PT, (0.32 * max(len(values), 1) + 0.9) * PT
    left = max((text_width(s) for s in short), default=0.0) + 12
    f = _Frame(
        left,
        26,
        width - 8 - max((text_width(money_label(t)) for t in ticks[-1:]), default=0) / 2,
        height - 40,
        ticks[0],
        ticks[-1],
    )
    svg = _Svg(key)
    _title(svg, f.left, title)
    band = (f.bottom - f.top) / max(len(values), 1)
    for i, (name, v) in enumerate(zip(short, values, strict=True)):
        y = f.top + band * (i + 0.5)
        end = f.x(max(v, 0.0))
        svg.rect(f.left, y - band * 0.4, end - f.left, band * 0.8, PALETTE[0])
        svg.text(end + 3, y + 3, money_label(v))
        svg.line(f.left - 3.5, y, f.left, y)
        svg.text(f.left - 5.5, y + 3, name, "end")
    svg.line(f.left, f.top, f.left, f.bottom)
    svg.line(f.left, f.bottom, f.right, f.bottom)
    for t in ticks:
        svg.line(f.x(t), f.bottom, f.x(t), f.bottom + 3.5)
        svg.text(f.x(t), f.bottom + 14, money_label(t), "middle")
    svg.text((f.left + f.right) / 2, f.bottom + 28, x_label, "middle")
    return svg.render(width, height, title, "Ranked horizontal bars; the figures are in the table below.")


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
    known = [v for vals in (actual, forecast, lower, upper) for v in vals if v is not None]
    ticks = nice_ticks(min([*known, 0.0]), max([*known, 0.0]) * 1.05 or 1.0)
    keys = ["95% prediction interval", "Actual", "Forecast"]
    width, height, f = _frame_for(ticks, money_label, _legend_rows(keys, 3), 3.4)
    svg = _Svg(key)
    _title(svg, f.left, title)
    n = len(x_labels)
    pad = (f.right - f.left) * 0.03
    xs = [f.left + pad + (f.right - f.left - 2 * pad) * (i / max(n - 1, 1)) for i in range(n)]
    band = [(x, lo, hi) for x, lo, hi in zip(xs, lower, upper, strict=True) if lo is not None and hi is not None]
    shade = {"fill": PALETTE[4], "fill_opacity": "0.35"}
    if band:
        outline = [(x, f.y(hi)) for x, _lo, hi in band] + [(x, f.y(lo)) for x, lo, _hi in reversed(band)]
        svg.path("M" + "L".join(f"{_n(x)} {_n(y)}" for x, y in outline) + "Z", **shade)
    _polyline(svg, xs, [None if v is None else f.y(v) for v in actual], PALETTE[0], "-", "o", 4.0)
    _polyline(svg, xs, [None if v is None else f.y(v) for v in forecast], PALETTE[5], "--", "s", 4.0)
    _y_axis(svg, f, ticks, money_label, y_label)
    legend_top = _month_axis(svg, f, xs, x_labels, every=max(1, n // 12))
    draw = [
        lambda x, y: svg.rect(x - 7, y - 4, 14, 8, **shade),
        _line_key(svg, PALETTE[0], "-", "o", 4.0),
        _line_key(svg, PALETTE[5], "--", "s", 4.0),
    ]
    legend = list(zip(keys, draw, strict=True))
    _legend(svg, legend, 3, legend_top)
    desc = f"Actual then forecast spend, {x_labels[0]} to {x_labels[-1]}, shaded band is the 95% interval"
    return svg.render(width, height, title, desc + "; the figures are in the table below.")
