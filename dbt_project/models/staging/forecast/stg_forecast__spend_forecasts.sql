{{ config(tags=['forecast']) }}
{#- The forecasts procure.transform.forecast writes to raw.spend_forecasts between the two dbt steps of a
    build, typed. Tagged 'forecast': built after the forecasting step, with the marts on it. -#}
with

source as (

    select * from {{ source('forecast', 'spend_forecasts') }}

),

renamed as (

    select
        -- ids
        council_id,
        category_l1,
        service_area,
        method,

        -- dates
        cast(month as date) as month,
        cast(last_actual_month as date) as last_actual_month,

        -- numerics
        cast(horizon_month as integer) as horizon_month,
        cast(forecast_gbp as decimal(18, 2)) as forecast_gbp,
        cast(lower_80_gbp as decimal(18, 2)) as lower_80_gbp,
        cast(upper_80_gbp as decimal(18, 2)) as upper_80_gbp,
        cast(lower_95_gbp as decimal(18, 2)) as lower_95_gbp,
        cast(upper_95_gbp as decimal(18, 2)) as upper_95_gbp,
        cast(history_months as integer) as history_months,
        cast(backtest_months as integer) as backtest_months,
        cast(backtest_wape as decimal(12, 6)) as backtest_wape,
        cast(backtest_mae_gbp as decimal(18, 2)) as backtest_mae_gbp,
        cast(backtest_coverage_95 as decimal(12, 6)) as backtest_coverage_95
    from source

)

select * from renamed
