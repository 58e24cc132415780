{#- Spend per council, month and ProClass category: where the money goes. -#}
with

spend as (

    select * from {{ ref('fct_spend') }}

),

final as (

    select
        council_id,
        payment_month as month,
        fiscal_year,
        category_l1,
        category_l2,
        cast(sum(amount_gbp) as decimal(18, 2)) as total_spend_gbp,
        cast(count(*) as bigint) as line_count,
        cast(count(distinct supplier_id) as bigint) as supplier_count,
        cast(sum(case when is_on_contract then amount_gbp else 0 end) as decimal(18, 2)) as on_contract_spend_gbp
    from spend
    group by council_id, payment_month, fiscal_year, category_l1, category_l2

)

select * from final
