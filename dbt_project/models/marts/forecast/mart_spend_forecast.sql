{{ config(tags=['forecast']) }}
{#- The next 12 months of spend per council, category and service area (and each council's total,
    category and service area 'All'), with 80 % and 95 % prediction intervals and the backtest error of
    the series. Computed in Python (procure.transform.forecast: statsmodels ETS, seasonal naive for short
    histories) between the two dbt steps of a build, typed in stg_forecast__spend_forecasts; this model
    holds the contract. -#}
with

forecasts as (

    select * from {{ ref('stg_forecast__spend_forecasts') }}

)

select
    council_id,
    category_l1,
    service_area,
    month,
    horizon_month,
    forecast_gbp,
    lower_80_gbp,
    upper_80_gbp,
    lower_95_gbp,
    upper_95_gbp,
    method,
    history_months,
    last_actual_month,
    backtest_months,
    backtest_wape,
    backtest_mae_gbp,
    backtest_coverage_95
from forecasts
