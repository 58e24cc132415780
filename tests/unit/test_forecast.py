"""Spend forecasting (procure.transform.forecast) on hand-built series."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from procure.transform import forecast as fc


def _seasonal(months: int, noise: float = 30.0, seed: int = 7) -> np.ndarray:
    """Monthly spend around 10,000 with a winter peak of +-2,000 and small noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    return 10_000 + 2_000 * np.cos(2 * np.pi * (t - 9) / 12) + rng.normal(0, noise, months)


def test_a_seasonal_series_is_forecast_within_its_band_in_backtest():
    y = _seasonal(48)
    result = fc.forecast_series(y)
    assert result is not None
    assert result.forecast.method == "ets_damped_trend"
    bt = result.backtest
    assert bt.months == 12
    assert bt.coverage_95 == 1.0  # every held-out month inside the 95 % band
    assert bt.wape is not None and bt.wape < 0.02
    # and the band is a real band: a series shifted well outside it is not covered
    train, held = y[:-12], y[-12:]
    refit = fc.forecast(train, 12)
    lower, upper = refit.bounds(fc.Z95)
    assert np.all((held >= lower) & (held <= upper))
    assert not np.any((held + 3_000 >= lower) & (held + 3_000 <= upper))


def test_the_forecast_follows_the_season_not_the_mean():
    y = _seasonal(36)
    result = fc.forecast(y)
    # the peak month of next year is forecast near the peak, not near the 10,000 mean
    peak = int(np.argmax(y[-12:]))
    assert result.mean[peak] > 11_500
    assert result.mean[(peak + 6) % 12] < 8_500


def test_seasonal_naive_repeats_last_year_and_widens_with_horizon():
    y = np.concatenate([_seasonal(12, 0), _seasonal(12, 0) + 100])
    result = fc.seasonal_naive(y, 24)
    assert result.method == "seasonal_naive"
    assert np.allclose(result.mean[:12], y[-12:])
    assert np.allclose(result.mean[12:], y[-12:])
    assert result.sigma[12] == pytest.approx(result.sigma[0] * np.sqrt(2))


def test_short_histories_fall_back_and_tiny_ones_are_not_forecast():
    assert fc.forecast(_seasonal(18), allow_ets=True).method == "seasonal_naive"
    assert fc.forecast(_seasonal(12)).method == "seasonal_naive_one_year"
    assert fc.forecast(_seasonal(6)).method == "mean"
    assert fc.forecast(np.array([0, 0, 500.0, 0, 700.0])) is None
    assert fc.backtest(_seasonal(12)).months == 0
    assert fc.backtest(_seasonal(18)).months == 6


def test_ets_is_limited_to_the_largest_series_and_a_failed_fit_falls_back(monkeypatch):
    def broken(y, horizon):
        raise ValueError("no convergence")

    monkeypatch.setattr(fc, "ets", broken)
    assert fc.forecast(_seasonal(30)).method == "seasonal_naive"


def test_build_forecasts_fills_gaps_adds_the_council_total_and_starts_after_the_last_month():
    months = [date(2022 + (3 + i) // 12, (3 + i) % 12 + 1, 1) for i in range(24)]  # Apr 2022 - Mar 2024
    y = _seasonal(24, 0)
    rows = [("c", "Catering", "Parks", m, v) for m, v in zip(months, y, strict=True)]
    # a second series paid only every other month: the missing months count as 0
    rows += [("c", "Legal Services", "Legal", m, 500.0) for m in months[::2]]
    out = fc.build_forecasts(rows, ets_limit=0)
    by_series: dict[tuple, list[tuple]] = {}
    for row in out:
        by_series.setdefault(row[:3], []).append(row)
    assert set(by_series) == {("c", "Catering", "Parks"), ("c", "Legal Services", "Legal"), ("c", "All", "All")}
    total = by_series[("c", "All", "All")]
    assert [r[3] for r in total] == [date(2024 + (3 + i) // 12, (3 + i) % 12 + 1, 1) for i in range(12)]
    assert total[0][10] == "ets"  # the council total is always fitted with ETS when history allows
    assert by_series[("c", "Catering", "Parks")][0][10] == "seasonal_naive"  # ets_limit=0
    legal = by_series[("c", "Legal Services", "Legal")]
    assert [r[5] for r in legal[:4]] == [500.0, 0.0, 500.0, 0.0]
    assert all(r[11] == 24 and r[12] == date(2024, 3, 1) and r[13] == 12 for r in out)
    for row in out:
        assert row[8] <= row[6] <= row[5] <= row[7] <= row[9]  # 95 within 80 around the point
