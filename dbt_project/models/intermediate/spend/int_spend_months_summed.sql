{#- Spend per council and month, summed from fct_spend: totals, credits, redacted and p-card spend, the
    identified suppliers paid, and the local / SME / VCSE / on-contract / classified shares with their
    coverage (macros in gross_share.sql). mart_procurement_kpis adds targets and RAG to these;
    mart_contract_expiry takes its council months from here. -#}
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
        cast(
            count(distinct case when supplier_id not in {{ placeholder_supplier_ids() }} then supplier_id end)
            as bigint
        ) as suppliers_paid,
        cast(sum(case when is_credit then amount_gbp else 0 end) as decimal(18, 2)) as credit_gbp,
        cast(sum(case when is_redacted then amount_gbp else 0 end) as decimal(18, 2)) as redacted_spend_gbp,
        cast(sum(case when is_pcard then amount_gbp else 0 end) as decimal(18, 2)) as pcard_spend_gbp,
        {{ gross_share('is_on_contract') }} as on_contract_share,
        {{ gross_share('is_local') }} as local_share,
        {{ gross_share('is_sme') }} as sme_share,
        {{ gross_share('is_vcse') }} as vcse_share,
        {{ gross_coverage('is_local') }} as local_coverage,
        {{ gross_coverage('is_sme') }} as sme_coverage,
        {{ gross_coverage('is_vcse') }} as vcse_coverage,
        {{ gross_share_of_all('is_local') }} as local_share_of_all_spend,
        {{ gross_share_of_all('is_sme') }} as sme_share_of_all_spend,
        {{ gross_share_of_all('is_vcse') }} as vcse_share_of_all_spend,
        {{ gross_share("category_l1 <> 'Unclassified'") }} as classified_share
    from spend
    group by council_id, payment_month, fiscal_year

)

select * from final
