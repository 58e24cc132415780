"""Tiny inline-SVG charts (no JavaScript, no external URL) for HTML and WeasyPrint PDF."""

from __future__ import annotations

from html import escape


def _money(v: float) -> str:
    if abs(v) >= 1e6:
        return f"£{v / 1e6:.1f}m"
    if abs(v) >= 1e3:
        return f"£{v / 1e3:.0f}k"
    return f"£{v:.0f}"


def bar_chart(labels: list[str], values: list[float], width: int = 640, height: int = 220, title: str = "") -> str:
    """Vertical bars, one per label, with value labels on top."""
    n = max(len(values), 1)
    top = max([v for v in values if v > 0] or [1.0])
    pad_l, pad_b, pad_t = 10, 30, 24
    plot_h = height - pad_b - pad_t
    slot = (width - pad_l * 2) / n
    bar_w = slot * 0.7
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    ]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = max(v, 0) / top * plot_h
        x = pad_l + i * slot + (slot - bar_w) / 2
        y = pad_t + plot_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="#1f5f8b"/>')
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" font-size="9" text-anchor="middle">{_money(v)}</text>'
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height - 12}" font-size="9" text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(labels: list[str], values: list[float], width: int = 640, row_h: int = 20) -> str:
    """Horizontal bars for ranked lists (categories, suppliers)."""
    top = max([v for v in values if v > 0] or [1.0])
    label_w, value_w = 250, 70
    bar_space = width - label_w - value_w
    height = row_h * max(len(values), 1) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = i * row_h + 2
        w = max(v, 0) / top * bar_space
        short = label if len(label) <= 40 else label[:39] + "…"
        parts.append(f'<text x="0" y="{y + 13}" font-size="10">{escape(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="#2e8b57"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="10">{_money(v)}</text>')
    parts.append("</svg>")
    return "".join(parts)
