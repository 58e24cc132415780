{#- The board's headline figures, one row per council and month. -#}
with

spend as (

    select * from {{ ref('fct_spend') }}

),

final as (

    select
        council_id,
        payment_month as month,
        fiscal_year,
        cast(sum(amount_gbp) as decimal(18, 2)) as total_spend_gbp,
        cast(count(*) as bigint) as line_count,
        cast(count(distinct case when supplier_id not in ('redacted', 'unknown') then supplier_id end) as bigint)
            as supplier_count,
        cast(sum(case when is_credit then amount_gbp else 0 end) as decimal(18, 2)) as credit_gbp,
        cast(sum(case when is_redacted then amount_gbp else 0 end) as decimal(18, 2)) as redacted_spend_gbp,
        cast(sum(case when is_pcard then amount_gbp else 0 end) as decimal(18, 2)) as pcard_spend_gbp,
        cast(
            sum(case when is_on_contract then amount_gbp else 0 end) / nullif(sum(amount_gbp), 0)
            as decimal(9, 6)
        ) as on_contract_share,
        cast(
            sum(case when is_local then amount_gbp else 0 end)
            / nullif(sum(case when is_local is not null then amount_gbp else 0 end), 0)
            as decimal(9, 6)
        ) as local_share,
        cast(
            sum(case when is_sme then amount_gbp else 0 end)
            / nullif(sum(case when is_sme is not null then amount_gbp else 0 end), 0)
            as decimal(9, 6)
        ) as sme_share,
        cast(
            sum(case when is_vcse then amount_gbp else 0 end)
            / nullif(sum(case when is_vcse is not null then amount_gbp else 0 end), 0)
            as decimal(9, 6)
        ) as vcse_share,
        cast(
            sum(case when category_l1 <> 'Unclassified' then amount_gbp else 0 end) / nullif(sum(amount_gbp), 0)
            as decimal(9, 6)
        ) as classified_share
    from spend
    group by council_id, payment_month, fiscal_year

)

select * from final
