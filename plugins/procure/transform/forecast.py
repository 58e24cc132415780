"""Twelve-month spend forecasts with prediction intervals, per council, category and service area.

Why here and not in dbt: the forecast needs a seasonal model from a maintained library (statsmodels'
ETS), and a dbt Python model does not run on PostgreSQL. So the build runs in three steps: dbt builds
everything but the forecast marts (``tag:forecast``), this module reads the monthly series dbt prepared
(``intermediate.int_spend_monthly_series``) from the same target database, writes
``raw.spend_forecasts``, and dbt then builds ``mart_spend_forecast`` (contract, tests) on top of it.

Method per series (history = months from the council's first to its last loaded month, gaps as 0):
- 24+ months: ETS with additive errors and additive 12-month seasonality (statsmodels ``ETSModel``;
  a damped additive trend from 36 months), intervals from the fitted model. Only the council's largest
  series (``PROCURE_FORECAST_ETS_SERIES``, default 25, plus the council total) are fitted, so a
  national run stays in minutes; the rest, and any fit that fails, use seasonal naive.
- 12-23 months: seasonal naive (each month as the same month last year); interval width from the
  seasonal-naive residuals, or from month-to-month changes when there is no second year.
- 3-11 months: the mean of the history, interval from its spread.
- fewer than 3 months with spend: not forecast.
Backtest: the same rules fitted on the history without its last 12 months (fewer when the history is
short; none below 13 months) and scored on those months: WAPE (sum of absolute errors / sum of
absolute actuals), mean absolute error, and the share of months inside the 95 % interval.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

HORIZON = 12
SEASON = 12
Z80 = 1.2815515655446004
Z95 = 1.959963984540054
ALL = "All"  # category / service area of a council's total series
TABLE = "raw.spend_forecasts"
SERIES_MODEL = "intermediate.int_spend_monthly_series"

COLUMNS: list[tuple[str, str]] = [
    ("council_id", "varchar"),
    ("category_l1", "varchar"),
    ("service_area", "varchar"),
    ("month", "date"),
    ("horizon_month", "integer"),
    ("forecast_gbp", "double precision"),
    ("lower_80_gbp", "double precision"),
    ("upper_80_gbp", "double precision"),
    ("lower_95_gbp", "double precision"),
    ("upper_95_gbp", "double precision"),
    ("method", "varchar"),
    ("history_months", "integer"),
    ("last_actual_month", "date"),
    ("backtest_months", "integer"),
    ("backtest_wape", "double precision"),
    ("backtest_mae_gbp", "double precision"),
    ("backtest_coverage_95", "double precision"),
]


@dataclass
class Forecast:
    method: str
    mean: np.ndarray
    sigma: np.ndarray  # standard error of each step, for the intervals

    def bounds(self, z: float) -> tuple[np.ndarray, np.ndarray]:
        return self.mean - z * self.sigma, self.mean + z * self.sigma


@dataclass
class Backtest:
    months: int = 0
    wape: float | None = None
    mae: float | None = None
    coverage_95: float | None = None


@dataclass
class SeriesResult:
    forecast: Forecast
    backtest: Backtest = field(default_factory=Backtest)


def _sd(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.std(values, ddof=1)) if values.size > 1 else 0.0


def seasonal_naive(y: np.ndarray, horizon: int = HORIZON) -> Forecast:
    """Each future month = the same month of the last year; needs 12 months."""
    n = y.size
    steps = np.arange(1, horizon + 1)
    mean = y[n - SEASON + (steps - 1) % SEASON]
    if n > SEASON:
        sigma1 = _sd(y[SEASON:] - y[:-SEASON])
        sigma = sigma1 * np.sqrt((steps - 1) // SEASON + 1)
        method = "seasonal_naive"
    else:  # one year only: no seasonal residuals; month-to-month changes give the width
        sigma1 = _sd(np.diff(y))
        sigma = sigma1 * np.sqrt((steps - 1) // SEASON + 1)
        method = "seasonal_naive_one_year"
    return Forecast(method, mean.astype(float), sigma.astype(float))


def history_mean(y: np.ndarray, horizon: int = HORIZON) -> Forecast:
    sigma = _sd(y) * math.sqrt(1 + 1 / y.size)
    return Forecast("mean", np.full(horizon, float(np.mean(y))), np.full(horizon, sigma))


def ets(y: np.ndarray, horizon: int = HORIZON) -> Forecast:
    """statsmodels ETS(A, N or Ad, A); raises when the fit fails or gives non-finite values."""
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    series = pd.Series(y, index=pd.period_range("2000-01", periods=y.size, freq="M").to_timestamp())
    damped = y.size >= 3 * SEASON
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; a bad fit is caught below
        model = ETSModel(
            series,
            error="add",
            trend="add" if damped else None,
            damped_trend=damped,
            seasonal="add",
            seasonal_periods=SEASON,
        )
        fitted = model.fit(disp=False, maxiter=200)
        frame = fitted.get_prediction(start=y.size, end=y.size + horizon - 1).summary_frame(alpha=0.05)
    mean = frame["mean"].to_numpy(dtype=float)
    sigma = (frame["pi_upper"].to_numpy(dtype=float) - mean) / Z95
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sigma))):
        raise ValueError("ETS gave non-finite forecasts")
    return Forecast("ets_damped_trend" if damped else "ets", mean, np.maximum(sigma, 0.0))


def forecast(y: np.ndarray, horizon: int = HORIZON, allow_ets: bool = True) -> Forecast | None:
    """The forecast the method rules above choose for a history; None when it is too short."""
    y = np.asarray(y, dtype=float)
    if np.count_nonzero(y) < 3:
        return None
    if allow_ets and y.size >= 2 * SEASON:
        try:
            return ets(y, horizon)
        except Exception as exc:  # any statsmodels failure falls back, and says so in the log
            log.info("ETS failed (%s); seasonal naive instead", exc)
    if y.size >= SEASON:
        return seasonal_naive(y, horizon)
    return history_mean(y, horizon)


def backtest(y: np.ndarray, allow_ets: bool = True) -> Backtest:
    """Refit without the last months (12, fewer for short histories) and score on them."""
    y = np.asarray(y, dtype=float)
    held = min(HORIZON, y.size - SEASON)
    if held < 1:
        return Backtest()
    train, actual = y[:-held], y[-held:]
    result = forecast(train, held, allow_ets)
    if result is None:
        return Backtest()
    error = actual - result.mean
    lower, upper = result.bounds(Z95)
    scale = float(np.sum(np.abs(actual)))
    return Backtest(
        months=held,
        wape=float(np.sum(np.abs(error)) / scale) if scale > 0 else None,
        mae=float(np.mean(np.abs(error))),
        coverage_95=float(np.mean((actual >= lower - 1e-9) & (actual <= upper + 1e-9))),
    )


def forecast_series(y: np.ndarray, allow_ets: bool = True) -> SeriesResult | None:
    result = forecast(y, HORIZON, allow_ets)
    if result is None:
        return None
    return SeriesResult(result, backtest(y, allow_ets))


def _add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def ets_series_limit() -> int:
    return int(os.environ.get("PROCURE_FORECAST_ETS_SERIES", "25"))


def build_forecasts(rows: list[tuple], ets_limit: int | None = None) -> list[tuple]:
    """Forecast rows from (council_id, category_l1, service_area, month, spend_gbp) monthly rows.

    A council's months run from its first to its last month with any spend (missing months are 0),
    and every council also gets its total series (category and service area 'All').
    """
    ets_limit = ets_series_limit() if ets_limit is None else ets_limit
    spans: dict[str, tuple[date, date]] = {}
    series: dict[tuple[str, str, str], dict[date, float]] = {}
    for council_id, category, area, month, amount in rows:
        month = date(month.year, month.month, 1)
        first, last = spans.get(council_id, (month, month))
        spans[council_id] = (min(first, month), max(last, month))
        for key in ((council_id, category, area), (council_id, ALL, ALL)):
            values = series.setdefault(key, {})
            values[month] = values.get(month, 0.0) + float(amount or 0)
    # ETS for the council total and its largest series; seasonal naive for the rest
    by_size: dict[str, list[tuple[float, tuple[str, str, str]]]] = {}
    for key, values in series.items():
        by_size.setdefault(key[0], []).append((sum(abs(v) for v in values.values()), key))
    fitted_with_ets = set()
    for council_series in by_size.values():
        council_series.sort(key=lambda item: (-item[0], item[1]))
        fitted_with_ets.update(key for _, key in council_series[: ets_limit + 1])
    out: list[tuple] = []
    for key in sorted(series):
        council_id, category, area = key
        first, last = spans[council_id]
        n = _months_between(first, last)
        y = np.array([series[key].get(_add_months(first, i), 0.0) for i in range(n)])
        result = forecast_series(y, allow_ets=key in fitted_with_ets)
        if result is None:
            continue
        fc, bt = result.forecast, result.backtest
        lower80, upper80 = fc.bounds(Z80)
        lower95, upper95 = fc.bounds(Z95)
        for step in range(HORIZON):
            out.append(
                (
                    council_id,
                    category,
                    area,
                    _add_months(last, step + 1),
                    step + 1,
                    round(float(fc.mean[step]), 2),
                    round(float(lower80[step]), 2),
                    round(float(upper80[step]), 2),
                    round(float(lower95[step]), 2),
                    round(float(upper95[step]), 2),
                    fc.method,
                    n,
                    last,
                    bt.months,
                    None if bt.wape is None else round(bt.wape, 6),
                    None if bt.mae is None else round(bt.mae, 2),
                    None if bt.coverage_95 is None else round(bt.coverage_95, 6),
                )
            )
    return out


SERIES_QUERY = f"select council_id, category_l1, service_area, month, spend_gbp from {SERIES_MODEL}"
CREATE = f"create table {TABLE} ({', '.join(f'{name} {kind}' for name, kind in COLUMNS)})"


def write_forecasts(target: str = "duckdb", warehouse: Path | None = None) -> dict[str, Any]:
    """Read the monthly series from the target database, forecast, and replace raw.spend_forecasts."""
    if target == "postgres":
        return _write_postgres()
    from procure.warehouse import transaction

    with transaction(warehouse) as con:
        rows = con.execute(SERIES_QUERY).fetchall()
        out = build_forecasts(rows)
        con.execute("create schema if not exists raw")
        con.execute(f"drop table if exists {TABLE}")
        con.execute(CREATE)
        if out:
            import pandas as pd

            frame = pd.DataFrame(out, columns=[name for name, _ in COLUMNS])
            con.register("spend_forecasts_new", frame)
            try:
                con.execute(f"insert into {TABLE} by name select * from spend_forecasts_new")
            finally:
                con.unregister("spend_forecasts_new")
    return _summary(out)


def _write_postgres() -> dict[str, Any]:
    import psycopg2
    from psycopg2.extras import execute_values

    from procure.transform.postgres_mirror import pg_dsn

    pg = psycopg2.connect(pg_dsn())
    try:
        with pg, pg.cursor() as cur:
            cur.execute(SERIES_QUERY)
            out = build_forecasts(cur.fetchall())
            cur.execute("create schema if not exists raw")
            cur.execute(f"drop table if exists {TABLE} cascade")
            cur.execute(CREATE)
            if out:
                execute_values(cur, f"insert into {TABLE} values %s", out, page_size=5000)
    finally:
        pg.close()
    return _summary(out)


def _summary(out: list[tuple]) -> dict[str, Any]:
    series = {(r[0], r[1], r[2]) for r in out}
    methods: dict[str, int] = {}
    for r in out:
        if r[4] == 1:
            methods[r[10]] = methods.get(r[10], 0) + 1
    log.info("spend forecasts: %d series (%s)", len(series), methods)
    return {"series": len(series), "rows": len(out), "methods": methods}
