{#- Estimated supply-chain emissions per council, month, ProClass level-1 category and method: spend x a
    spend-based emission factor (see int_spend_carbon_factored for which factor applies). A spend-based
    estimate is a screening figure, uncertain by +/-50 % or more for any one category: it says where the
    emissions are likely to be, not what they are. Spend with no factor is kept as 'not_measured' with
    tco2e null, so the share of spend the estimate covers is always visible. -#}
with

factored as (

    select * from {{ ref('int_spend_carbon_factored') }}

),

final as (

    select
        council_id,
        fiscal_year,
        payment_month as month,
        category_l1,
        method,
        cast(sum(spend_gbp) as decimal(18, 2)) as spend_gbp,
        cast(sum(spend_in_factor_prices_gbp) as decimal(18, 2)) as spend_in_factor_prices_gbp,
        cast(
            case
                when method <> 'not_measured'
                    then sum(kgco2e) / nullif(sum(spend_in_factor_prices_gbp), 0)
            end as decimal(12, 6)
        ) as factor_kgco2e_per_gbp,
        cast(case when method <> 'not_measured' then sum(kgco2e) / 1000 end as decimal(18, 3)) as tco2e,
        cast(min(factor_year) as integer) as factor_year,
        cast(min(price_year) as integer) as price_year,
        coalesce(bool_and(is_deflated), false) as is_deflated,
        cast(count(distinct supplier_id) as bigint) as supplier_count
    from factored
    group by council_id, fiscal_year, payment_month, category_l1, method

)

select * from final
