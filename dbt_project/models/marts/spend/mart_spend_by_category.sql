{#- Spend per council, month and ProClass category: where the money goes. -#}
with

spend as (

    select * from {{ ref('fct_spend') }}

),

by_supplier as (

    -- per supplier first, so supplier_count counts rows instead of a count(distinct) per group (10 M lines)
    select
        council_id,
        payment_month,
        fiscal_year,
        category_l1,
        category_l2,
        supplier_id,
        sum(amount_gbp) as spend_gbp,
        count(*) as line_count,
        sum(case when is_on_contract then amount_gbp else 0 end) as on_contract_spend_gbp,
        sum(case when not is_on_contract then amount_gbp else 0 end) as off_contract_spend_gbp,
        sum(case when contract_attribution = 'after_contract_end' then amount_gbp else 0 end)
            as after_contract_end_gbp
    from spend
    group by council_id, payment_month, fiscal_year, category_l1, category_l2, supplier_id

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
