{#- The contract renewal pipeline: every live contract ending in the next 24 months after the council's
    as-at date (latest payment loaded), with the fiscal quarter it ends in and its annual run-rate: the
    register's estimated annual value, else the contract value over its term (at least a year), else the
    last 12 months' payments under it. -#}
with

portfolio as (

    select * from {{ ref('fct_contract_portfolio') }}

),

register as (

    select * from {{ ref('stg_contract_register__contracts') }}

),

councils as (

    select * from {{ ref('stg_council__councils') }}

),

spend as (

    select * from {{ ref('fct_spend') }}

),

expiring as (

    select portfolio.*
    from portfolio
    where
        portfolio.end_date is not null
        and portfolio.days_to_expiry >= 0
        and portfolio.days_to_expiry <= 730

),

last_year_spend as (

    select
        expiring.contract_id,
        sum(spend.amount_gbp) as spend_gbp
    from expiring
    inner join spend
        on
            expiring.contract_id = spend.contract_id
            and spend.payment_date > {{ dbt.dateadd('day', -365, 'expiring.as_at_date') }}
    group by expiring.contract_id

),

final as (

    select
        expiring.contract_id,
        expiring.council_id,
        expiring.contract_source,
        expiring.contract_ref,
        expiring.title,
        expiring.supplier_id,
        expiring.supplier_name,
        expiring.service_area,
        expiring.procurement_category,
        expiring.end_date,
        expiring.days_to_expiry,
        {{ fiscal_year('expiring.end_date', 'councils.fiscal_year_start_month') }} as expiry_fiscal_year,
        cast(
            floor(({{ fiscal_period('expiring.end_date', 'councils.fiscal_year_start_month') }} - 1) / 3.0) + 1
            as integer
        ) as expiry_quarter,
        expiring.has_extension_options,
        expiring.contract_value_gbp,
        cast(register.annual_value_gbp as decimal(18, 2)) as annual_value_stated_gbp,
        cast(coalesce(last_year_spend.spend_gbp, 0) as decimal(18, 2)) as spend_last_12_months_gbp,
        cast(
            coalesce(
                register.annual_value_gbp,
                expiring.contract_value_gbp
                / greatest(
                    -- term in whole months (start to the day after the end), in years, at least one
                    {{ dbt.datediff('expiring.start_date', dbt.dateadd('day', 1, 'expiring.end_date'), 'month') }}
                    / 12.0,
                    1
                ),
                last_year_spend.spend_gbp,
                0
            ) as decimal(18, 2)
        ) as annual_run_rate_gbp,
        case
            when register.annual_value_gbp is not null then 'register annual value'
            when expiring.contract_value_gbp is not null and expiring.start_date is not null
                then 'contract value / term'
            when last_year_spend.spend_gbp is not null then 'last 12 months payments'
            else 'unknown'
        end as run_rate_basis,
        expiring.as_at_date
    from expiring
    inner join councils on expiring.council_id = councils.council_id
    left join register on expiring.contract_id = register.contract_id
    left join last_year_spend on expiring.contract_id = last_year_spend.contract_id

)

select * from final
