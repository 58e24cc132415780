{#- Spend per council, month and ProClass category: where the money goes. -#}
with

by_supplier as (

    -- per supplier first, so supplier_count counts rows instead of a count(distinct) per group (10 M lines)
    select * from {{ ref('int_spend_supplier_months_summed') }}

),

final as (

    select
        council_id,
        payment_month as month,
        fiscal_year,
        category_l1,
        category_l2,
        cast(sum(spend_gbp) as decimal(18, 2)) as total_spend_gbp,
        cast(sum(line_count) as bigint) as line_count,
        cast(count(supplier_id) as bigint) as supplier_count,
        cast(sum(on_contract_spend_gbp) as decimal(18, 2)) as on_contract_spend_gbp,
        cast(sum(off_contract_spend_gbp) as decimal(18, 2)) as off_contract_spend_gbp,
        cast(sum(after_contract_end_gbp) as decimal(18, 2)) as after_contract_end_gbp
    from by_supplier
    group by council_id, payment_month, fiscal_year, category_l1, category_l2

)

select * from final
