"""The monthly board pack: one self-contained HTML page per council and month, and its PDF.

Everything on it comes from the marts (and the ops tables for data quality); nothing is
computed from the wall clock, so re-running a month reproduces the same pack.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from html import escape
from pathlib import Path

from procure.config import Council, publish_dir
from procure.publish.atomic import atomic_dir, require_gate, sha256_file
from procure.publish.svg import bar_chart, hbar_chart
from procure.warehouse import connect

log = logging.getLogger(__name__)

CSS = """
@page { size: A4; margin: 18mm 15mm 20mm 15mm;
        @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 9pt; }
        @bottom-left { content: string(council) " board pack"; font-size: 9pt; } }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #1b1b1b; }
h1 { string-set: council content(); font-size: 18pt; margin: 0 0 4pt; color: #1f5f8b; }
h2 { font-size: 13pt; border-bottom: 2px solid #1f5f8b; padding-bottom: 2pt; margin-top: 16pt; }
section { page-break-inside: avoid; }
section.break { page-break-before: always; }
table { border-collapse: collapse; width: 100%; margin: 6pt 0; }
th, td { border-bottom: 1px solid #ccc; padding: 3pt 4pt; text-align: left; font-size: 9pt; }
td.num, th.num { text-align: right; }
.kpis { display: flex; flex-wrap: wrap; gap: 6pt; }
.kpi { border: 1px solid #1f5f8b; padding: 6pt; width: 28%; }
.kpi b { display: block; font-size: 14pt; color: #1f5f8b; }
.toc a { color: inherit; text-decoration: none; }
.toc a::after { content: leader('.') target-counter(attr(href), page); }
.note { color: #555; font-size: 8.5pt; }
.bad { color: #a61b1b; font-weight: bold; } .ok { color: #1b7a3a; font-weight: bold; }
"""


def gbp(v) -> str:
    if v is None:
        return "–"
    return f"£{float(v):,.0f}"


def pct(v) -> str:
    return "–" if v is None else f"{float(v) * 100:.1f}%"


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f'<th class="{"num" if i in numeric else ""}">{escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"num" if i in numeric else ""}">{escape(str(c))}</td>' for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    if not rows:
        body = f'<tr><td colspan="{len(headers)}" class="note">None.</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass
class PackPaths:
    html: Path
    pdf: Path


def _fy_start(month: date, start_month: int) -> date:
    year = month.year if month.month >= start_month else month.year - 1
    return date(year, start_month, 1)


def render_html(con, council: Council, month: date) -> str:
    fy_start = _fy_start(month, council.fiscal_year_start_month)
    cid = council.id
    q = lambda sql, *p: con.execute(sql, [cid, *p]).fetchall()  # noqa: E731
    kpi = q("select * from marts.mart_kpi_monthly where council_id = ? and month = ?", month)
    if not kpi:
        raise LookupError(f"council {cid!r}: no spend loaded for {month:%Y-%m}; nothing to report")
    k = dict(zip([c[0] for c in con.execute("describe marts.mart_kpi_monthly").fetchall()], kpi[0], strict=True))
    ytd = q(
        "select sum(total_spend_gbp), sum(line_count) from marts.mart_kpi_monthly "
        "where council_id = ? and month between ? and ?",
        fy_start,
        month,
    )[0]
    trend = q(
        "select month, total_spend_gbp from marts.mart_kpi_monthly where council_id = ? "
        "and month > ? and month <= ? order by month",
        date(month.year - 1, month.month, 1),
        month,
    )
    cats = q(
        "select category_l1, sum(total_spend_gbp) s from marts.mart_spend_by_category "
        "where council_id = ? and month between ? and ? group by 1 order by s desc limit 10",
        fy_start,
        month,
    )
    suppliers = q(
        "select d.canonical_name, sum(f.amount_gbp) s, count(*) n from marts.fct_spend f "
        "join marts.dim_supplier d using (supplier_id) where f.council_id = ? and f.payment_month = ? "
        "and f.supplier_id not in ('redacted', 'unknown') group by 1 order by s desc limit 10",
        month,
    )
    local = q(
        "select service_area, sum(total_spend_gbp), sum(local_spend_gbp), sum(unknown_local_spend_gbp), "
        "sum(sme_spend_gbp), sum(vcse_spend_gbp) from marts.mart_local_spend "
        "where council_id = ? and month between ? and ? group by 1 order by 2 desc",
        fy_start,
        month,
    )
    expiring = q(
        "select contract_ref, title, supplier_name, end_date, contract_value_gbp, spend_to_date_gbp "
        "from marts.fct_contract_portfolio where council_id = ? and expiry_band = '0-6 months' "
        "order by end_date, contract_ref",
    )
    risks = q(
        "select contract_ref, title, supplier_name, "
        "case when is_spend_beyond_value and is_expired_but_paid then 'beyond value; paid after end' "
        "when is_spend_beyond_value then 'spend beyond value' else 'paid after end' end, "
        "contract_value_gbp, spend_to_date_gbp, spend_after_end_gbp, count(*) over () "
        "from marts.fct_contract_portfolio "
        "where council_id = ? and (is_spend_beyond_value or is_expired_but_paid) "
        "order by greatest(spend_to_date_gbp - coalesce(contract_value_gbp, 0), spend_after_end_gbp) desc, "
        "contract_ref limit 20",
    )
    bands = q(
        "select expiry_band, count(*), sum(contract_value_gbp) from marts.fct_contract_portfolio "
        "where council_id = ? group by 1 order by 1",
    )
    files = q(
        "select source_file, records, accepted, rejected from raw.spend_files where council_id = ? "
        "order by source_file",
    )
    gate = con.execute(
        "select passed, critical_failures, warnings, summary from ops.quality_runs order by recorded_at desc limit 1"
    ).fetchall()
    warnings = con.execute(
        "select suite, coalesce(column_name, ''), expectation, observed from ops.quality_results "
        "where run_id = (select run_id from ops.quality_runs order by recorded_at desc limit 1) "
        "and severity = 'warning' and not success order by 1, 2"
    ).fetchall()

    title = f"{council.name} — procurement board pack, {month:%B %Y}"
    sections = [
        (
            "headline",
            "Headline figures",
            f"""
<div class="kpis">
<div class="kpi">Spend this month<b>{gbp(k["total_spend_gbp"])}</b>{k["line_count"]:,} payment lines</div>
<div class="kpi">Spend year to date<b>{gbp(ytd[0])}</b>since {fy_start:%d %B %Y}</div>
<div class="kpi">Suppliers paid<b>{k["supplier_count"]:,}</b>identified suppliers this month</div>
<div class="kpi">On contract<b>{pct(k["on_contract_share"])}</b>of spend covered by a live contract</div>
<div class="kpi">Local / SME / VCSE<b>{pct(k["local_share"])} / {pct(k["sme_share"])} / {pct(k["vcse_share"])}</b>of spend where status is known</div>
<div class="kpi">Classified<b>{pct(k["classified_share"])}</b>of spend has a ProClass category</div>
</div>
<p class="note">Credits this month {gbp(k["credit_gbp"])}; procurement-card spend {gbp(k["pcard_spend_gbp"])};
payments to redacted payees {gbp(k["redacted_spend_gbp"])}.</p>""",
        ),
        (
            "trend",
            "Spend trend, last 12 months",
            bar_chart([f"{m:%b %y}" for m, _ in trend], [float(v) for _, v in trend], title="monthly spend"),
        ),
        (
            "categories",
            "Spend by category, year to date",
            hbar_chart([c for c, _ in cats], [float(v) for _, v in cats]),
        ),
        (
            "suppliers",
            "Top suppliers this month",
            _table(["Supplier", "Spend", "Lines"], [[n, gbp(s), f"{c:,}"] for n, s, c in suppliers], {1, 2}),
        ),
        (
            "local",
            "Local, SME and VCSE spend by service area, year to date",
            _table(
                ["Service area", "Spend", "Local", "Locality unknown", "SME", "VCSE"],
                [[a, gbp(t), gbp(lo), gbp(u), gbp(s), gbp(v)] for a, t, lo, u, s, v in local],
                {1, 2, 3, 4, 5},
            )
            + '<p class="note">Unknown status is shown separately and never counted as "not local".</p>',
        ),
        (
            "contracts",
            "Contract portfolio",
            _table(["Expiry band", "Contracts", "Value"], [[b, f"{n:,}", gbp(v)] for b, n, v in bands], {1, 2})
            + "<h3>Expiring in the next six months</h3>"
            + _table(
                ["Ref", "Title", "Supplier", "Ends", "Value", "Spent"],
                [[r, t, s, f"{e:%d %b %Y}", gbp(v), gbp(sp)] for r, t, s, e, v, sp in expiring],
                {4, 5},
            )
            + f"<h3>Risk flags ({risks[0][7] if risks else 0} contracts; the 20 largest exposures)</h3>"
            + _table(
                ["Ref", "Title", "Supplier", "Flag", "Value", "Spent on contract", "Paid after end"],
                [[r, t, s, f, gbp(v), gbp(sp), gbp(a)] for r, t, s, f, v, sp, a, _ in risks],
                {4, 5, 6},
            ),
        ),
        (
            "quality",
            "Data quality",
            (
                f'<p>Quality gate: <span class="{"ok" if gate and gate[0][0] else "bad"}">'
                f"{'passed' if gate and gate[0][0] else 'not passed'}</span>"
                + (f" — {gate[0][1]} critical failures, {gate[0][2]} warnings" if gate else "")
                + "</p>"
                + "<h3>Warnings</h3>"
                + _table(["Table", "Column", "Expectation", "Observed"], [list(w) for w in warnings])
                + "<h3>Files loaded</h3>"
                + _table(
                    ["File", "Records", "Accepted", "Quarantined"],
                    [[f, f"{r:,}", f"{a:,}", f"{j:,}"] for f, r, a, j in files],
                    {1, 2, 3},
                )
            ),
        ),
    ]
    toc = "".join(f'<li><a href="#{sid}">{escape(h)}</a></li>' for sid, h, _ in sections)
    body = "".join(
        f'<section id="{sid}" class="{"break" if sid in {"local", "contracts"} else ""}"><h2>{escape(h)}</h2>{content}</section>'
        for sid, h, content in sections
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{CSS}</style></head>
<body><h1>{escape(council.name)}</h1>
<p><b>Procurement board pack — {month:%B %Y}</b><br>
<span class="note">Resources, Performance and Delivery Board. Figures from the procurement warehouse,
quality-gated; year to date from {fy_start:%d %B %Y}.</span></p>
<nav class="toc"><h2>Contents</h2><ol>{toc}</ol></nav>
{body}
</body></html>"""


def publish_board_pack(council: Council, month: date, warehouse: Path | None = None) -> PackPaths:
    """Render the pack for ``month`` (first of month) into publish/board_pack/<council>/<YYYY-MM>/."""
    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    month = month.replace(day=1)
    con = connect(warehouse, read_only=True)
    try:
        require_gate(con)
        html = render_html(con, council, month)
    finally:
        con.close()
    target = publish_dir() / "board_pack" / council.id / f"{month:%Y-%m}"
    with atomic_dir(target) as tmp:
        (tmp / "board_pack.html").write_text(html, encoding="utf-8")
        HTML(string=html).write_pdf(tmp / "board_pack.pdf")
    paths = PackPaths(target / "board_pack.html", target / "board_pack.pdf")
    log.info("board pack %s (%s)", paths.html, sha256_file(paths.html)[:12])
    return paths
