"""The gate reads only what each suite's expectations need, some columns as stand-ins
(null flags, row numbers, excluded values kept and the rest folded into one): GX must report
exactly what it reports on the whole relation read as it is - verdicts, counts, percentages,
row indices and the unexpected values it lists.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest


def _warehouse(path, duplicate_ids: bool):
    con = duckdb.connect(str(path))
    con.execute(
        """
        create table t as
        select
            case when i % 97 = 0 then null else 'id-' || (case when $dup and i % 50 = 1 then 0 else i end) end
                as spend_line_id,
            case when i % 7 = 0 then null when i % 11 = 0 then '' else 'Supplier, "' || i || '"' end as supplier_id,
            case when i % 5 = 0 then null else i % 2 = 0 end as is_local,
            case when i % 13 = 0 then null when i % 4 = 0 then 'Unclassified' when i % 9 = 0 then 'it''s'
                 else 'Cat ' || (i % 6) end as category_l1,
            case when i % 17 = 0 then null else date '2024-01-01' + cast(i % 400 as integer) end as payment_date,
            cast(i * 1.25 - 300 as decimal(18, 2)) as amount_gbp,
            'unused ' || i as description
        from range(2000) r(i)
        """,
        {"dup": duplicate_ids},
    )
    return con


def _expectations():
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeUnique(column="spend_line_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="spend_line_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="supplier_id", mostly=0.5),
        gxe.ExpectColumnValuesToNotBeNull(column="is_local"),
        gxe.ExpectColumnValuesToNotBeInSet(column="category_l1", value_set=["Unclassified", "it's"], mostly=0.8),
        gxe.ExpectColumnValuesToBeBetween(
            column="payment_date", min_value=datetime(2024, 1, 1), max_value=datetime(2024, 12, 31)
        ),
        gxe.ExpectColumnSumToBeBetween(column="amount_gbp", min_value=0, max_value=1),
        gxe.ExpectTableRowCountToEqual(value=2000),
    ]


def _results(context, name: str, frame) -> list[dict]:
    import great_expectations as gx

    batch = context.data_sources.add_pandas(name).add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in _expectations():
        suite.add_expectation(expectation)
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    run = validation.run(batch_parameters={"dataframe": frame})
    out = []
    for r in run.results:
        d = r.to_json_dict()
        d["expectation_config"].pop("id", None)
        d["expectation_config"]["kwargs"].pop("batch_id", None)
        out.append(d)
    return sorted(out, key=repr)


@pytest.mark.parametrize("duplicate_ids", [False, True], ids=["ids-distinct", "ids-duplicated"])
def test_planned_frame_gives_gx_the_same_results(isolated_env, tmp_path, duplicate_ids):
    from procure.quality import gate

    con = _warehouse(tmp_path / "w.duckdb", duplicate_ids)
    try:
        plan = gate._plan_frame(con, "select * from t", _expectations())
        whole = gate._table_as_pandas(con, gate._FramePlan("select * from t"))
        planned = gate._table_as_pandas(con, plan)
    finally:
        con.close()

    # the cheap reading really is in use: only the checked columns, several as stand-ins
    assert "description" in whole.columns and "description" not in planned.columns
    assert plan.stand_ins["supplier_id"][0] == "present" and plan.stand_ins["is_local"][0] == "present"
    assert ("spend_line_id" in plan.stand_ins) is not duplicate_ids  # duplicates: the real ids, to be listed
    assert "case when" in plan.sql  # category_l1: excluded values kept, the rest folded
    assert str(planned["payment_date"].dtype) == "datetime64[ns]"

    context = gate._gx_context()
    on_whole = _results(context, "whole", whole)
    on_planned = _results(context, "planned", planned)
    assert on_planned == on_whole
    failed = {
        (r["expectation_config"]["type"], r["expectation_config"]["kwargs"].get("column"))
        for r in on_whole
        if not r["success"]
    }
    # the data really has failures to report, and the lists they make are compared above
    assert (("expect_column_values_to_be_unique", "spend_line_id") in failed) is duplicate_ids
    assert {
        ("expect_column_values_to_not_be_null", "spend_line_id"),
        ("expect_column_values_to_not_be_null", "is_local"),
        ("expect_column_values_to_not_be_in_set", "category_l1"),
        ("expect_column_values_to_be_between", "payment_date"),
        ("expect_column_sum_to_be_between", "amount_gbp"),
    } <= failed, failed
    assert any(r["result"].get("partial_unexpected_list") for r in on_whole)


def test_dates_beyond_pandas_nanosecond_range_still_load(isolated_env, tmp_path):
    """A year-2924 typo must fail the range check, not crash the conversion."""
    from procure.quality import gate

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute("create table t as select * from (values (date '2024-05-01'), (date '2924-05-01'), (null)) v(d)")
        frame = gate._table_as_pandas(con, gate._FramePlan("select d from t"))
    finally:
        con.close()
    assert frame["d"].tolist()[:2] == [datetime(2024, 5, 1), datetime(2924, 5, 1)]
    assert date(2924, 5, 1) > gate._NS_RANGE[1]
