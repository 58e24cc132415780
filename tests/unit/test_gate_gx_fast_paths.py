"""The gate's two GX fast paths (procure.quality.gate._fast_pandas_paths) give GX's own results.

GX's pandas engine hashes every batch and scans numeric columns for Decimal objects value by value;
the gate skips both. This checks that the GX version installed still has what is patched, and that a
suite gives the same verdicts and figures either way.
"""

from __future__ import annotations

import importlib
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest


def _validate(frame: pd.DataFrame) -> list[tuple]:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context = gx.get_context(mode="ephemeral")
    batch = context.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b")
    suite = context.suites.add(gx.ExpectationSuite(name="s"))
    for e in (
        gxe.ExpectColumnSumToBeBetween(column="amount", min_value=0, max_value=100_000),
        gxe.ExpectColumnMeanToBeBetween(column="amount", min_value=0, max_value=100),
        gxe.ExpectColumnStdevToBeBetween(column="amount", min_value=0, max_value=1),
        gxe.ExpectColumnSumToBeBetween(column="exact", min_value=1.99, max_value=2.01),
        gxe.ExpectColumnValuesToNotBeNull(column="amount"),
    ):
        suite.add_expectation(e)
    result = context.validation_definitions.add(gx.ValidationDefinition(name="v", data=batch, suite=suite)).run(
        batch_parameters={"dataframe": frame}
    )
    return sorted(
        (r.expectation_config.type, r.expectation_config.kwargs["column"], r.success, r.result.get("observed_value"))
        for r in result.results
    )


def test_gx_still_has_what_the_gate_patches_and_the_results_are_the_same(monkeypatch):
    import great_expectations.execution_engine.pandas_execution_engine as engine
    from great_expectations import util

    from procure.quality import gate

    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(50, 20, 200).round(2),
            "exact": pd.Series([Decimal("0.01")] * 200, dtype=object),  # GX's own Decimal path
        }
    )
    for name in gate._DECIMAL_CHECKING_METRICS:  # present in the pinned GX, bound to the function patched
        module = importlib.import_module(f"great_expectations.expectations.metrics.column_aggregate_metrics.{name}")
        monkeypatch.setattr(
            module, "convert_pandas_series_decimal_to_float_dtype", module.convert_pandas_series_decimal_to_float_dtype
        )
    monkeypatch.setattr(engine, "HASH_THRESHOLD", engine.HASH_THRESHOLD)
    monkeypatch.setattr(
        util, "convert_pandas_series_decimal_to_float_dtype", util.convert_pandas_series_decimal_to_float_dtype
    )
    before = _validate(frame.copy())
    gate._fast_pandas_paths()
    gate._fast_pandas_paths()  # a second gate in the same process (Airflow's dag.test, the CLI's tests)
    assert engine.HASH_THRESHOLD == 0
    after = _validate(frame.copy())
    assert after == before
    failed = [(t, c) for t, c, success, _o in after if not success]
    assert failed == [("expect_column_stdev_to_be_between", "amount")], after
    assert next(o for t, c, _s, o in after if c == "exact") == pytest.approx(2.0)
