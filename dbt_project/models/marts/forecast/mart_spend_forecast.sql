{{ config(tags=['forecast']) }}
{#- The next 12 months of spend per council, category and service area (and each council's total,
    category and service area 'All'), with 80 % and 95 % prediction intervals and the backtest error of
    the series. Computed in Python (procure.transform.forecast: statsmodels ETS, seasonal naive for short
    histories) between the two dbt steps of a build; this model types it and holds the contract. -#}
with

forecasts as (

    select * from {{ source('forecast', 'spend_forecasts') }}

)

select
    council_id,
    category_l1,
    service_area,
    cast(month as date) as month,
    cast(horizon_month as integer) as horizon_month,
    cast(forecast_gbp as decimal(18, 2)) as forecast_gbp,
    cast(lower_80_gbp as decimal(18, 2)) as lower_80_gbp,
    cast(upper_80_gbp as decimal(18, 2)) as upper_80_gbp,
    cast(lower_95_gbp as decimal(18, 2)) as lower_95_gbp,
    cast(upper_95_gbp as decimal(18, 2)) as upper_95_gbp,
    method,
    cast(history_months as integer) as history_months,
    cast(last_actual_month as date) as last_actual_month,
    cast(backtest_months as integer) as backtest_months,
    cast(backtest_wape as decimal(12, 6)) as backtest_wape,
    cast(backtest_mae_gbp as decimal(18, 2)) as backtest_mae_gbp,
    cast(backtest_coverage_95 as decimal(12, 6)) as backtest_coverage_95
from forecasts
