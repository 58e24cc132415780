"""Great Expectations suites as code, one module per warehouse asset.

Each module defines ``TABLE`` (schema.table in the warehouse) and
``build(ctx) -> list[Expectation]``; every expectation carries
``meta={"severity": "critical" | "warning"}``. ``ctx`` holds figures computed from the
raw layer at check time (e.g. the raw spend total), so the marts are reconciled to
what was loaded, not to a number written here.
"""
