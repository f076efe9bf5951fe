"""Self-contained HTML pieces: tables, heat maps, SVG line and bar charts, embedded images.

No plotting library is needed: charts are small inline SVGs, images are embedded PNGs, so one report file
can be opened, mailed or archived on its own.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
            "#17becf")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 9px;border:1px solid #ddd;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:12px}.grid figure{margin:0}figcaption{font-size:.8em;color:#555}
.note{color:#555;font-size:.9em}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:1em 0}
.tile{border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:130px;background:#fafafa}
.tile .label{font-size:.8em;color:#555}.tile .value{font-size:1.7em;font-weight:600}
.gallery figure{width:min(540px,100%)}.gallery figure img{width:100%;height:auto}
table.info th{text-align:left;font-weight:normal;color:#555}table.info td{text-align:left}
"""


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "&ndash;" if math.isnan(value) else f"{value:.3f}"
    return html.escape(str(value))


def _tick(value: float) -> str:
    """An axis tick label: up to 3 significant digits, no trailing zeros (``0.2``, ``12.6``, ``0.0005``)."""
    return f"{value:.3g}"


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table; floats are shown with 3 decimals and NaN as a dash."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def heatmap_table(matrix: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], corner: str = "") -> str:
    """A table whose cells are shaded by value (row-normalized), e.g. a confusion matrix."""
    m = np.asarray(matrix, dtype=np.float64)
    totals = m.sum(axis=1, keepdims=True)
    share = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
    head = f"<th>{html.escape(corner)}</th>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in col_labels)
    rows = []
    for label, values, shares in zip(row_labels, m, share):
        cells = "".join(
            f'<td style="background:rgba(31,119,180,{s:.2f})">{int(v) if float(v).is_integer() else f"{v:.2f}"}</td>'
            for v, s in zip(values, shares)
        )
        rows.append(f"<tr><th>{html.escape(str(label))}</th>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def svg_lines(
    series: Sequence[tuple[str, np.ndarray, np.ndarray]],
    x_label: str,
    y_label: str,
    title: str = "",
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (0.0, 1.0),
    size_wh: tuple[int, int] = (420, 300),
    colours: Sequence[int] | None = None,
    dashed: Sequence[bool] | None = None,
) -> str:
    """An inline SVG line chart of ``(label, x, y)`` series within the given axis ranges.

    Non-finite points are left out (the line joins the finite ones); series of up to 40 points get dot
    markers, so that a single point shows. ``colours`` (palette indices) and ``dashed`` are per series;
    by default series i has colour i and a solid line.
    """
    width, height = size_wh
    widest = max(len(_tick(y_range[0] + (y_range[1] - y_range[0]) * k / 5)) for k in range(6))
    left, right, top, bottom = max(48, 26 + 7 * widest), 12, 26, 40  # room for the longest y tick label
    pw, ph = width - left - right, height - top - bottom

    def sx(x: np.ndarray) -> np.ndarray:
        return left + (np.asarray(x, float) - x_range[0]) / (x_range[1] - x_range[0]) * pw

    def sy(y: np.ndarray) -> np.ndarray:
        return top + ph - (np.asarray(y, float) - y_range[0]) / (y_range[1] - y_range[0]) * ph

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="11">',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for k in range(6):
        fx = x_range[0] + (x_range[1] - x_range[0]) * k / 5
        fy = y_range[0] + (y_range[1] - y_range[0]) * k / 5
        parts.append(f'<text x="{sx(fx):.1f}" y="{top + ph + 14}" text-anchor="middle">{_tick(fx)}</text>')
        parts.append(f'<text x="{left - 4}" y="{sy(fy) + 4:.1f}" text-anchor="end">{_tick(fy)}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">{html.escape(x_label)}</text>')
    parts.append(f'<text x="12" y="{top + ph / 2}" transform="rotate(-90 12 {top + ph / 2})" '
                 f'text-anchor="middle">{html.escape(y_label)}</text>')
    if title:
        parts.append(f'<text x="{left + pw / 2}" y="16" text-anchor="middle" font-weight="bold">'
                     f"{html.escape(title)}</text>")
    for i, (label, x, y) in enumerate(series):
        colour = _PALETTE[(i if colours is None else colours[i]) % len(_PALETTE)]
        dash = ' stroke-dasharray="5,3"' if dashed is not None and dashed[i] else ""
        xs, ys = sx(x), sy(y)
        ok = np.isfinite(xs) & np.isfinite(ys)
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs[ok], ys[ok]))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>')
        if ok.sum() <= 40:
            parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.2" fill="{colour}"/>' for a, b in zip(xs[ok], ys[ok])]
        parts.append(f'<text x="{left + pw - 4}" y="{top + 14 + 13 * i}" text-anchor="end" fill="{colour}">'
                     f"{html.escape(label)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def svg_bars(labels: Sequence[str], values: Sequence[float], title: str = "", unit: str = "") -> str:
    """An inline SVG horizontal bar chart."""
    vals = [0.0 if not math.isfinite(v) else float(v) for v in values]
    top_value = max([abs(v) for v in vals] + [1e-12])
    row, label_w, bar_w = 22, 150, 260
    height = 30 + row * len(vals)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 80}" height="{height}" '
             f'font-size="12">']
    if title:
        parts.append(f'<text x="4" y="16" font-weight="bold">{html.escape(title)}</text>')
    for i, (label, v) in enumerate(zip(labels, vals)):
        y = 26 + row * i
        w = abs(v) / top_value * bar_w
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{html.escape(str(label))}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
                     f'fill="{_PALETTE[i % len(_PALETTE)]}"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{v:.3g}{html.escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def image_tag(image: np.ndarray, caption: str = "", max_side: int = 360) -> str:
    """An embedded PNG ``<figure>`` of an (H, W, 3) or (H, W) uint8 image, downscaled to ``max_side``."""
    from PIL import Image

    pil = Image.fromarray(np.asarray(image, dtype=np.uint8))
    scale = max_side / max(pil.size)
    if scale < 1:
        pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))))
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}"/>'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def write_html(path: str | Path, title: str, sections: Sequence[tuple[str, str]]) -> Path:
    """Write a standalone HTML page of ``(heading, html)`` sections; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"<h2>{html.escape(h)}</h2>{content}" if h else content for h, content in sections)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path
