"""The dashboard's services table body, written in Python rather than in the template.

At 10,000 services the Jinja loop cost about 1.5 s of the dashboard's 2 s budget (an escape and a Markup
object per value, an attribute lookup per name). This writes the HTML the template's loop wrote (checked
byte for byte on the benchmark's estate when it moved) with plain strings; templates/dashboard.html.j2
inserts it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from markupsafe import Markup

from tasks.catalog.durations import format_duration
from tasks.rules.dashboard import Control, ServiceRow

try:  # markupsafe's own C escaper, returning str rather than Markup (same entities)
    from markupsafe._speedups import _escape_inner as _escape
except ImportError:  # pure-Python markupsafe

    def _escape(s: str) -> str:
        return (
            s.replace("&", "&amp;")
            .replace(">", "&gt;")
            .replace("<", "&lt;")
            .replace("'", "&#39;")
            .replace('"', "&#34;")
        )


def esc(value: object) -> str:
    """markupsafe's escaping (same entities), without a Markup object per value."""
    return _escape(str(value))


class _Days:
    """`| day` for many repeated datetimes (due dates repeat across thousands of rows)."""

    def __init__(self) -> None:
        self._cache: dict[datetime, str] = {}
        self.cells: dict[tuple[object, ...], str] = {}  # control cells shared by many rows (_control_cell)
        self.durations: dict[float | None, str] = {}

    def duration(self, seconds: float | None) -> str:
        text = self.durations.get(seconds)
        if text is None:
            text = self.durations[seconds] = esc(format_duration(seconds))
        return text

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return "never"
        text = self._cache.get(value)
        if text is None:
            text = self._cache[value] = value.astimezone(timezone.utc).strftime("%Y-%m-%d")
        return text


def _dated(day: str, link: str | None) -> str:
    return f'<a href="{esc(link)}">{day}</a>' if link else day


def _control_cell(c: Control, row: ServiceRow, href: Callable[[str | None], str | None], day: _Days) -> str:
    # A cell with no per-service figures is the same for every service with the same run, result and due
    # date: written once. (Restore cells with measured figures are written per service.)
    if c.name != "restore" or c.last is None or not row.figures.restores:
        key = (c.name, c.last, c.link, c.result, c.due, c.overdue, c.detail)
        cell = day.cells.get(key)
        if cell is None:
            cell = day.cells[key] = _control_cell_text(c, row, href, day)
        return cell
    return _control_cell_text(c, row, href, day)


def _control_cell_text(c: Control, row: ServiceRow, href: Callable[[str | None], str | None], day: _Days) -> str:
    out = [f'<td class="{c.name}{" is-overdue" if c.overdue else ""}">']
    if c.last is not None:
        result = esc(c.result)
        out.append(
            f'<span class="nw">{_dated(day(c.last), href(c.link))} '
            f'<span class="badge {result}">{result.replace("_", " ")}</span></span>'
        )
        f = row.figures
        if c.name == "restore" and f.restores:
            if f.rto_seconds is not None:
                rto = f'<span class="{"bad" if f.rto_ratio > 1 else "good"}">{day.duration(f.rto_seconds)}</span>'
            else:
                rto = '<span class="bad">failed</span>'
            if f.rpo_seconds is not None:
                rpo = f'<span class="{"bad" if f.rpo_ratio > 1 else "good"}">{day.duration(f.rpo_seconds)}</span>'
            else:
                rpo = "n/a"
            region = ' <span class="meta" title="judged against the Region-loss target">(Region loss)</span>'
            out.append(
                f'<span class="sub nw">RTO {rto} / {day.duration(f.rto_target_seconds)}'
                f"{region if f.rto_disruption == 'region' else ''}\n"
                f" · RPO {rpo} / {day.duration(f.rpo_target_seconds)}"
                f"{region if f.rpo_disruption == 'region' else ''}</span>\n"
                f'<span class="sub nw" data-figure="restores">{f.passed} of {f.restores} passed</span>'
            )
    if c.detail:
        out.append(f'<span class="sub"><code>{esc(c.detail)}</code></span>')
    if c.last is None:
        out.append(' <span class="overdue">never run · overdue</span>')
    elif c.overdue:
        out.append(f' <span class="overdue">overdue since {day(c.due)}</span>')
    else:
        out.append(f' <span class="sub">next due {day(c.due)}</span>')
    out.append("</td>\n")
    return "".join(out)


def _audit_cell(a: Control, href: Callable[[str | None], str | None], day: _Days) -> str:
    key = ("audit", a.last, a.link, a.result, a.checks, a.failing)
    cell = day.cells.get(key)
    if cell is None:
        cell = day.cells[key] = _audit_cell_text(a, href, day)
    return cell


def _audit_cell_text(a: Control, href: Callable[[str | None], str | None], day: _Days) -> str:
    if a.last is None:
        return '<td class="audit"><span class="sub">not audited yet</span></td>\n'
    result = esc(a.result)
    out = [
        f'<td class="audit"><span class="nw">{_dated(day(a.last), href(a.link))} '
        f'<span class="badge {result}">{result.replace("_", " ")}</span></span>'
    ]
    if a.checks is not None:
        failing = f', <span class="bad">{a.failing} failing</span>' if a.failing else ""
        out.append(
            f'<span class="sub" data-figure="audit-checks">{a.checks - a.failing} of {a.checks} check(s) pass'
            f"{failing}</span>"
        )
    elif a.failing:
        out.append(f'<span class="sub bad">{a.failing} gap(s)</span>')
    out.append("</td>\n")
    return "".join(out)


def service_rows_html(rows: list[ServiceRow], href: Callable[[str | None], str | None]) -> Markup:
    day = _Days()
    out = []
    for r in rows:
        service, status = esc(r.service), esc(r.status)
        tier = r.tier if r.tier is not None else None
        out.append(
            f'<tr class="svc t{"x" if tier is None else tier} st-{status}" id="svc-{service}" '
            f'data-service="{service}" data-status="{status}">\n'
            f'<td class="svc-name"><span class="nw"><strong>{service}</strong> '
            f'<span class="tier">T{"?" if tier is None else tier}</span></span>'
            f'<span class="sub">{esc(r.info.name)}</span></td>\n'
            f'<td class="st" title="{esc("; ".join(r.reasons))}"><span class="badge {status}">{status}</span>'
        )
        if r.why:
            out.append(f'<span class="sub">{esc("; ".join(r.why))}</span>')
        out.append("</td>\n")
        for c in (r.review, r.restore, r.simulation):
            out.append(_control_cell(c, r, href, day))
        out.append(_audit_cell(r.audit, href, day))
        tk = r.tickets
        if tk.open:
            past = f'<span class="overdue">{tk.past_sla} past SLA</span>' if tk.past_sla else ""
            tickets = (
                f'{tk.open} open<span class="sub">oldest {esc(tk.oldest_key)} ({tk.oldest_age_days} d)</span>{past}'
            )
        else:
            tickets = "none"
        out.append(
            f'<td data-figure="tickets">{tickets}</td>\n'
            f'<td>{esc(r.info.owner or "—")}<span class="sub">{esc(r.info.champion or "no champion")}</span></td>\n'
            "</tr>\n"
        )
    return Markup("".join(out))


# --- the quarterly pack's Tier 0/1 table (templates/pack.html.j2 and pack.md.j2 insert these) ---------


def _pack_cells(r: ServiceRow, day: _Days, html: bool) -> str:
    out = []
    for c in (r.review, r.restore, r.simulation, r.audit):
        key = ("pack-html" if html else "pack-md", c.name, c.last, c.result, c.overdue)
        cell = day.cells.get(key)
        if cell is None:
            if c.last is None:
                cell = '<td><span class="overdue">never run</span></td>' if html else " never run |"
            elif html:
                result = esc(c.result)
                overdue = '<span class="sub overdue">overdue</span>' if c.overdue and c.name != "audit" else ""
                cell = (
                    f'<td><span class="badge {result}">{result.replace("_", " ")}</span>'
                    f'<span class="sub nw">{day(c.last)}</span>{overdue}</td>'
                )
            else:
                cell = f" {day(c.last)} {c.result} |"
            day.cells[key] = cell
        out.append(cell)
    return "".join(out)


def pack_rows_html(rows: list[ServiceRow]) -> Markup:
    """The pack's Tier 0/1 services table body (a Jinja loop over 3,000 rows cost a fifth of a second)."""
    day = _Days()
    out = []
    for r in rows:
        if r.tier not in (0, 1):
            continue
        service, status = esc(r.service), esc(r.status)
        why = f'<span class="sub">{esc("; ".join(r.why))}</span>' if r.why else ""
        out.append(
            f'<tr class="svc" id="svc-{service}" data-service="{service}" data-status="{status}">'
            f'<td><span class="nw"><strong>{service}</strong> <span class="meta small">T{r.tier}</span></span>'
            f'<span class="sub">{esc(r.info.name)}</span></td>\n'
            f'<td class="st"><span class="badge {status}">{status}</span>{why}</td>\n'
            f'{_pack_cells(r, day, html=True)}<td class="num">{r.tickets.open}</td></tr>\n'
        )
    if not out:
        return Markup('<tr><td colspan="7">No Tier 0/1 service in scope.</td></tr>\n')
    return Markup("".join(out))


def pack_rows_md(rows: list[ServiceRow], md: Callable[[object], str]) -> str:
    """The same table in the pack's Markdown (md: the template's escaping filter)."""
    day = _Days()
    out = []
    for r in rows:
        if r.tier not in (0, 1):
            continue
        why = f": {md('; '.join(r.why))}" if r.why else ""
        out.append(
            f"| {md(r.service)} | **{r.status}**{why} | {r.tier} |{_pack_cells(r, day, html=False)} {r.tickets.open} |\n"
        )
    return "".join(out)
