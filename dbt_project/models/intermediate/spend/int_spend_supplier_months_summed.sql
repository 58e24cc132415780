{#- Net spend per council, month, ProClass category and supplier, with its on- / off-contract split:
    summed once from fct_spend for the marts that start from this grain (mart_spend_by_category,
    int_spend_carbon_factored). -#}
with

spend as (

    select * from {{ ref('fct_spend') }}

),

final as (

    select
        council_id,
        payment_month,
        fiscal_year,
        category_l1,
        category_l2,
        supplier_id,
        cast(sum(amount_gbp) as decimal(18, 2)) as spend_gbp,
        cast(count(*) as bigint) as line_count,
        cast(sum(case when is_on_contract then amount_gbp else 0 end) as decimal(18, 2)) as on_contract_spend_gbp,
        cast(sum(case when not is_on_contract then amount_gbp else 0 end) as decimal(18, 2))
            as off_contract_spend_gbp,
        cast(sum(case when contract_attribution = 'after_contract_end' then amount_gbp else 0 end) as decimal(18, 2))
            as after_contract_end_gbp
    from spend
    group by council_id, payment_month, fiscal_year, category_l1, category_l2, supplier_id

)

select * from final
