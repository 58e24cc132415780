{#- Local, SME and VCSE spend per council, month and service area.
    Unknown status has its own amount and is left out of the share's denominator:
    a supplier we know nothing about (redacted payees included) is never counted as "not local". Shares are of
    gross payments (credits excluded), amounts are net. Rolling 12 months = this month and the 11 before it,
    whether or not the service area had spend in each of them. -#}
with

spend as (

    select * from {{ ref('fct_spend') }}

),

monthly as (

    select
        council_id,
        payment_month as month,
        fiscal_year,
        service_area,
        sum(amount_gbp) as total_spend_gbp,
        sum(case when is_local then amount_gbp else 0 end) as local_spend_gbp,
        sum(case when is_local is null then amount_gbp else 0 end) as unknown_local_spend_gbp,
        sum(case when is_sme then amount_gbp else 0 end) as sme_spend_gbp,
        sum(case when is_sme is null then amount_gbp else 0 end) as unknown_sme_spend_gbp,
        sum(case when is_vcse then amount_gbp else 0 end) as vcse_spend_gbp,
        sum(case when is_vcse is null then amount_gbp else 0 end) as unknown_vcse_spend_gbp,
        {{ gross_share('is_local') }} as local_share,
        {{ gross_share('is_sme') }} as sme_share,
        {{ gross_share('is_vcse') }} as vcse_share,
        sum(case when not is_credit and is_local then amount_gbp else 0 end) as gross_local_gbp,
        sum(case when not is_credit and is_local is not null then amount_gbp else 0 end) as gross_local_known_gbp
    from spend
    group by council_id, payment_month, fiscal_year, service_area

),

rolling as (

    select
        this_month.council_id,
        this_month.month,
        this_month.service_area,
        count(*) as rolling_12m_month_count,
        sum(window_month.total_spend_gbp) as rolling_12m_total_spend_gbp,
        sum(window_month.local_spend_gbp) as rolling_12m_local_spend_gbp,
        sum(window_month.unknown_local_spend_gbp) as rolling_12m_unknown_local_spend_gbp,
        sum(window_month.gross_local_gbp) / nullif(sum(window_month.gross_local_known_gbp), 0)
            as rolling_12m_local_share
    from monthly as this_month
    inner join monthly as window_month
        on
            this_month.council_id = window_month.council_id
            and this_month.service_area = window_month.service_area
            and this_month.month >= window_month.month
            and window_month.month > {{ dbt.dateadd('month', -12, 'this_month.month') }}
    group by this_month.council_id, this_month.month, this_month.service_area

),

final as (

    select
        monthly.council_id,
        monthly.month,
        monthly.fiscal_year,
        monthly.service_area,
        cast(monthly.total_spend_gbp as decimal(18, 2)) as total_spend_gbp,
        cast(monthly.local_spend_gbp as decimal(18, 2)) as local_spend_gbp,
        cast(monthly.unknown_local_spend_gbp as decimal(18, 2)) as unknown_local_spend_gbp,
        cast(monthly.sme_spend_gbp as decimal(18, 2)) as sme_spend_gbp,
        cast(monthly.unknown_sme_spend_gbp as decimal(18, 2)) as unknown_sme_spend_gbp,
        cast(monthly.vcse_spend_gbp as decimal(18, 2)) as vcse_spend_gbp,
        cast(monthly.unknown_vcse_spend_gbp as decimal(18, 2)) as unknown_vcse_spend_gbp,
        monthly.local_share,
        monthly.sme_share,
        monthly.vcse_share,
        cast(
            sum(monthly.total_spend_gbp) over (
                partition by monthly.council_id, monthly.fiscal_year, monthly.service_area
                order by monthly.month
                rows between unbounded preceding and current row
            ) as decimal(18, 2)
        ) as ytd_total_spend_gbp,
        cast(
            sum(monthly.local_spend_gbp) over (
                partition by monthly.council_id, monthly.fiscal_year, monthly.service_area
                order by monthly.month
                rows between unbounded preceding and current row
            ) as decimal(18, 2)
        ) as ytd_local_spend_gbp,
        cast(rolling.rolling_12m_month_count as integer) as rolling_12m_month_count,
        cast(rolling.rolling_12m_total_spend_gbp as decimal(18, 2)) as rolling_12m_total_spend_gbp,
        cast(rolling.rolling_12m_local_spend_gbp as decimal(18, 2)) as rolling_12m_local_spend_gbp,
        cast(rolling.rolling_12m_unknown_local_spend_gbp as decimal(18, 2)) as rolling_12m_unknown_local_spend_gbp,
        cast(rolling.rolling_12m_local_share as decimal(9, 6)) as rolling_12m_local_share
    from monthly
    inner join rolling
        on
            monthly.council_id = rolling.council_id
            and monthly.month = rolling.month
            and monthly.service_area = rolling.service_area

)

select * from final
