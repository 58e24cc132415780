{#- Local, SME and VCSE spend per council, month and service area.
    Unknown status has its own amount and is left out of the share's denominator:
    a supplier we know nothing about (redacted payees included) is never counted as "not local". Shares are of
    gross payments (credits excluded), amounts are net. -#}
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
        {{ gross_share('is_vcse') }} as vcse_share
    from spend
    group by council_id, payment_month, fiscal_year, service_area

),

final as (

    select
        council_id,
        month,
        fiscal_year,
        service_area,
        cast(total_spend_gbp as decimal(18, 2)) as total_spend_gbp,
        cast(local_spend_gbp as decimal(18, 2)) as local_spend_gbp,
        cast(unknown_local_spend_gbp as decimal(18, 2)) as unknown_local_spend_gbp,
        cast(sme_spend_gbp as decimal(18, 2)) as sme_spend_gbp,
        cast(unknown_sme_spend_gbp as decimal(18, 2)) as unknown_sme_spend_gbp,
        cast(vcse_spend_gbp as decimal(18, 2)) as vcse_spend_gbp,
        cast(unknown_vcse_spend_gbp as decimal(18, 2)) as unknown_vcse_spend_gbp,
        local_share,
        sme_share,
        vcse_share,
        cast(
            sum(total_spend_gbp) over (
                partition by council_id, fiscal_year, service_area
                order by month
                rows between unbounded preceding and current row
            ) as decimal(18, 2)
        ) as ytd_total_spend_gbp,
        cast(
            sum(local_spend_gbp) over (
                partition by council_id, fiscal_year, service_area
                order by month
                rows between unbounded preceding and current row
            ) as decimal(18, 2)
        ) as ytd_local_spend_gbp
    from monthly

)

select * from final
