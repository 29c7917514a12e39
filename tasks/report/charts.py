"""Geometry for the reports' inline SVG charts, pure: scales, ticks and coordinates as plain dicts.

The templates (macros.html.j2: line_chart, bar_chart, ratio_chart) draw them, so a chart needs no
script, no font or file from the network, and prints as it shows. Values may be None (no data that
quarter): lines break there and bars are left out.
"""

from __future__ import annotations

import math

SERIES_CLASSES = ("s1", "s2", "s3", "s4")


def _nice_max(value: float) -> float:
    """The next 'round' number at or above value (1, 2, 2.5, 5 x 10^n), for axis ends."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 5, 10):  # 1.2 and 1.5: a value just over 100% gets a 120% axis, not 200%
        candidate = step * 10**exponent
        if candidate >= value - 1e-9:
            return candidate
    return 10 ** (exponent + 1)


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.0f}%"
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def _r(value: float) -> float:
    return round(value, 1)


def _plot_area(width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, plot width, plot height) of a chart with categories along x: margins for the y tick
    labels on the left and the category labels below."""
    left, right, top, bottom = 48, 12, 14, 30
    return left, top, width - left - right, height - top - bottom


def _present(series: list[tuple[str, list[float | None]]]) -> list[float]:
    return [v for _, vals in series for v in vals if v is not None]


def _frame(kind: str, title: str, width: int, height: int, left: float, top: float, plot_w: float) -> dict:
    return {"kind": kind, "title": title, "width": width, "height": height, "left": left, "top": top, "plot_w": plot_w}


def _category_frame(kind: str, title: str, width: int, height: int, labels: list[str], ticks: list[dict]) -> dict:
    """What line and bar charts share: size, plot area, a label under each category's middle, the y ticks."""
    left, top, plot_w, plot_h = _plot_area(width, height)
    step = plot_w / max(1, len(labels))
    return {
        **_frame(kind, title, width, height, left, top, plot_w),
        "plot_h": plot_h,
        "bottom_y": top + plot_h,
        "xlabels": [{"x": _r(left + step * (i + 0.5)), "label": label} for i, label in enumerate(labels)],
        "ticks": ticks,
    }


def line_chart(
    labels: list[str],
    series: list[tuple[str, list[float | None]]],
    *,
    unit: str = "",
    y_max: float | None = None,
    target: float | None = None,
    target_label: str = "target",
    width: int = 640,
    height: int = 220,
    title: str = "",
) -> dict:
    """Lines over categories (quarters). unit "%" shows fractions (0.85) as percentages."""
    left, top, plot_w, plot_h = _plot_area(width, height)
    peak = max(_present(series) + ([target] if target is not None else []) + [0.0])
    y_top = y_max if y_max is not None else _nice_max(peak * 1.05 if peak else 1.0)
    n = max(1, len(labels))
    step = plot_w / n

    def x(i: int) -> float:
        return left + step * (i + 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - min(v, y_top) / y_top)

    ticks = [{"y": _r(y(y_top * k / 4)), "label": _fmt(y_top * k / 4, unit)} for k in range(5)]
    drawn = []
    for index, (name, vals) in enumerate(series):
        points, segments, current = [], [], []
        for i, v in enumerate(vals):
            if v is None:
                if current:
                    segments.append(current)
                current = []
                continue
            point = {"x": _r(x(i)), "y": _r(y(v)), "value": v, "text": _fmt(v, unit), "label": labels[i]}
            points.append(point)
            current.append(point)
        if current:
            segments.append(current)
        paths = ["M" + " L".join(f"{p['x']} {p['y']}" for p in seg) for seg in segments]
        drawn.append(
            {"name": name, "cls": SERIES_CLASSES[index % len(SERIES_CLASSES)], "points": points, "paths": paths}
        )
    return {
        **_category_frame("line", title, width, height, labels, ticks),
        "series": drawn,
        "target": {"y": _r(y(target)), "label": target_label} if target is not None and target <= y_top else None,
    }


def bar_chart(
    labels: list[str],
    series: list[tuple[str, list[float | None]]],
    *,
    unit: str = "",
    width: int = 640,
    height: int = 220,
    title: str = "",
) -> dict:
    """Grouped vertical bars over categories (e.g. tickets opened and closed per quarter)."""
    left, top, plot_w, plot_h = _plot_area(width, height)
    y_top = _nice_max(max(_present(series) + [0.0]) or 1.0)
    n, k = max(1, len(labels)), max(1, len(series))
    group = plot_w / n
    bar_w = group * 0.7 / k
    bars = []
    for s_index, (name, vals) in enumerate(series):
        for i, v in enumerate(vals):
            if v is None:
                continue
            h = plot_h * min(v, y_top) / y_top
            bars.append(
                {
                    "x": _r(left + group * i + group * 0.15 + bar_w * s_index),
                    "y": _r(top + plot_h - h),
                    "w": _r(bar_w),
                    "h": _r(h),
                    "value": v,
                    "text": _fmt(v, unit),
                    "label": labels[i],
                    "series": name,
                    "cls": SERIES_CLASSES[s_index % len(SERIES_CLASSES)],
                }
            )
    ticks = [{"y": _r(top + plot_h * (1 - j / 4)), "label": _fmt(y_top * j / 4, unit)} for j in range(5)]
    return {
        **_category_frame("bar", title, width, height, labels, ticks),
        "series": [
            {"name": name, "cls": SERIES_CLASSES[i % len(SERIES_CLASSES)]} for i, (name, _) in enumerate(series)
        ],
        "bars": bars,
    }


def ratio_chart(
    items: list[dict],
    *,
    series: tuple[str, ...] = ("RTO", "RPO"),
    width: int = 640,
    row_h: int = 36,
    cap: float = 3.0,
    title: str = "",
) -> dict:
    """Horizontal bars of achieved / target per item (service), one bar per series, a line at 100%.

    items: [{"label": str, "values": [{"ratio": float | None, "text": str}, ...] one per series}].
    A ratio of None is drawn as a short "failed" marker; ratios above cap are clipped and say so.
    """
    left, right, top, bottom = 170, 60, 10, 26
    plot_w = width - left - right
    peak = max([v["ratio"] for item in items for v in item["values"] if v["ratio"] is not None] + [1.0])
    x_top = _nice_max(min(max(peak, 1.2), cap))
    height = top + bottom + row_h * max(1, len(items))
    bar_h = (row_h - 8) / max(1, len(series))  # 14 px a bar at two series: its 11 px label fits inside

    def x(ratio: float) -> float:
        return left + plot_w * min(ratio, x_top) / x_top

    rows = []
    for index, item in enumerate(items):
        y0 = top + row_h * index + 4
        bars = []
        for s_index, value in enumerate(item["values"]):
            ratio = value["ratio"]
            over = ratio is not None and ratio > 1.0
            bars.append(
                {
                    "x": left,
                    "y": _r(y0 + bar_h * s_index),
                    "h": _r(bar_h - 1),
                    "w": _r(x(ratio) - left) if ratio is not None else 0.0,
                    "ratio": ratio,
                    "text": value["text"],
                    "series": series[s_index],
                    "cls": ("failed" if ratio is None else "over" if over else "ok") + f" {SERIES_CLASSES[s_index]}",
                    "clipped": ratio is not None and ratio > x_top,
                    "label_x": _r(x(ratio) + 4) if ratio is not None else left + 4,
                }
            )
        rows.append({"label": item["label"], "y": _r(y0 + (row_h - 8) / 2 + 4), "bars": bars})
    ticks = [{"x": _r(x(x_top * j / 4)), "label": f"{x_top * j / 4 * 100:.0f}%"} for j in range(5)]
    return {
        **_frame("ratio", title, width, height, left, top, plot_w),
        "bottom_y": height - bottom,
        "rows": rows,
        "ticks": ticks,
        "target_x": _r(x(1.0)),
        "series": [{"name": name, "cls": SERIES_CLASSES[i]} for i, name in enumerate(series)],
    }
