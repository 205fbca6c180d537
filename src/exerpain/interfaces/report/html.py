"""The HTML pieces of a run's report: escaping and formatting of values read from files,
tables, notes and sections, figures embedded as PNG ``data:`` URIs, and the page with its
inline stylesheet (:mod:`exerpain.interfaces.report`)."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

NOT_RECORDED = "not recorded"
DPI = 96
COLORS = {"exercise": "#1f77b4", "sedentary": "#d62728", "healthy": "#2ca02c",
          "entry": "#1f77b4", "pathway": "#ff7f0e"}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:60em;
margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;
margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top;
overflow-wrap:break-word}th{background:#f3f3f3}td.num{text-align:right;
font-variant-numeric:tabular-nums}
table.kv th{width:14em;font-weight:normal;color:#555;background:#fafafa}
figure{margin:1em 0}figure img{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555}
.ok{color:#17692d;font-weight:bold}.bad{color:#a3201b;font-weight:bold}
.note{color:#666;font-style:italic}.warn{background:#fff4d6;padding:.4em .6em}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
pre{background:#f6f6f6;padding:.6em;overflow:auto;max-height:30em}
details{margin:.5em 0}
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# ---------------------------------------------------------------- text and tables


def esc(value: object) -> str:
    """``value`` as escaped HTML text."""
    return html.escape(str(value), quote=True)


def fmt(value: object, digits: int = 4) -> str:
    """A value read from a file as plain text: numbers to ``digits`` significant digits,
    booleans as yes/no, ``None`` as "none", lists and objects spelled out."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        if any(isinstance(v, dict) for v in value):
            return json.dumps(value, default=str)
        return ", ".join(fmt(v, digits) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {fmt(v, digits)}" for k, v in value.items()) if value \
            else "none"
    return str(value)


def pct(value: object) -> str:
    """A share (0-1) as a percentage to one decimal; anything else as :func:`fmt` shows it."""
    return f"{100 * value:.1f}%" if is_finite(value) else fmt(value)


def short_sha(sha: object) -> str:
    """The first 12 hexadecimal digits of a SHA-256 ("none" if there is none)."""
    return sha[:12] if isinstance(sha, str) and sha else fmt(sha or None)


def recorded(data: dict, key: str, show: Callable[[object], str] = fmt) -> str:
    """``data[key]`` shown with ``show``, or "not recorded"."""
    return show(data[key]) if key in data else NOT_RECORDED


def is_number(value: object) -> bool:
    """Whether ``value`` read from JSON is a number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite(value: object) -> bool:
    """Whether ``value`` is a finite number."""
    return is_number(value) and math.isfinite(value)


def _cell(text: str, number: bool = False) -> str:
    return f'<td class="num">{esc(text)}</td>' if number else f"<td>{esc(text)}</td>"


def key_values(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table of (label, text); both escaped."""
    body = "".join(f"<tr><th>{esc(k)}</th>{_cell(v)}</tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def grid(header: list[str], rows: Iterable[list[object]]) -> str:
    """A table with a header row; cells are formatted with :func:`fmt` and escaped; numbers
    are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        _cell(c if isinstance(c, str) else fmt(c), is_number(c)) for c in row) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def flatten(data: dict, prefix: str = "") -> list[tuple[str, object]]:
    """The leaves of nested objects as (dotted key, value) rows."""
    rows = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows.extend(flatten(value, f"{name}."))
        else:
            rows.append((name, value))
    return rows


def note(text: str) -> str:
    """A paragraph of escaped text in the style of a note."""
    return f'<p class="note">{esc(text)}</p>'


def section(title: str, body: str, anchor: str) -> str:
    """A section of the page: ``title`` (escaped) over ``body`` (HTML), with an ``id``."""
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'


# ---------------------------------------------------------------- figures


def new_axes(width: float, height: float, rows: int = 1, cols: int = 1,
             **kwargs) -> tuple[Figure, np.ndarray]:
    """A figure on an Agg canvas (:func:`exerpain.interfaces.figures.new_figure`: no pyplot,
    no window, no global state) with constrained layout, and its axes."""
    from exerpain.interfaces.figures import new_figure

    fig = new_figure(width, height)
    fig.set_layout_engine("constrained")
    return fig, fig.subplots(rows, cols, squeeze=False, **kwargs)


def tex_safe(text: object) -> str:
    """Text from a file made safe for matplotlib (a ``$`` would start mathtext)."""
    return str(text).replace("$", r"\$")


def figure_html(fig: Figure, caption: str) -> str:
    """``fig`` as an embedded PNG (``data:image/png;base64``) with its caption."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def as_float(value: object) -> float:
    """A number read from a file as a float; anything else as NaN."""
    return float(value) if is_number(value) else math.nan


def as_pair(value: object) -> tuple[object, object]:
    """``[low, high]`` as a pair; anything else as ``(None, None)``."""
    return (value[0], value[1]) if isinstance(value, list) and len(value) == 2 else (None, None)


def guarded(draw: Callable[..., str | list[str]], *args: object) -> str:
    """The HTML of ``draw(*args)``, or a note saying why the figure could not be drawn (data
    of an unexpected shape must not stop the report)."""
    try:
        out = draw(*args)
    except (KeyError, IndexError, TypeError, ValueError) as err:
        return note(f"A figure could not be drawn: {type(err).__name__}: {err}")
    return out if isinstance(out, str) else "".join(out)



# ---------------------------------------------------------------- the page


def page(title: str, body: str) -> str:
    """The whole page: ``body`` (HTML) under ``title``, with the stylesheet inline and a
    Content-Security-Policy that lets nothing be fetched."""
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>{body}"
            f'<footer><p class="note">Report made {made} by exerpain report.</p></footer>'
            "</body></html>\n")

