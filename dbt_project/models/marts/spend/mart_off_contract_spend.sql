{#- Spend with no live contract behind it, per council, fiscal year, supplier and category.

    A payment is off contract when no contract with the same supplier was live on the payment date
    (fct_spend.is_on_contract). Recurring spend - paid in at least three months of the year and above
    the project variable off_contract_threshold_gbp - is what the strategy asks to put under contract.
    Redacted and unstated payees are kept (their own supplier rows) so the totals reconcile. -#}
with

spend as (

    select * from {{ ref('fct_spend') }}

),

portfolio as (

    select * from {{ ref('int_contracts_supplier_keyed') }}

),

had_contract as (

    select distinct
        council_id,
        supplier_id
    from portfolio
    where supplier_id is not null

),

off_contract_monthly as (

    -- per month first, so months_paid counts rows instead of a count(distinct) per group (10 M lines)
    select
        council_id,
        fiscal_year,
        supplier_id,
        category_l1,
        category_l2,
        payment_month,
        sum(amount_gbp) as spend_gbp,
        count(*) as line_count,
        min(payment_date) as first_payment_date,
        max(payment_date) as last_payment_date
    from spend
    where not is_on_contract
    group by council_id, fiscal_year, supplier_id, category_l1, category_l2, payment_month

),

off_contract as (

    select
        council_id,
        fiscal_year,
        supplier_id,
        category_l1,
        category_l2,
        sum(spend_gbp) as off_contract_spend_gbp,
        sum(line_count) as line_count,
        count(payment_month) as months_paid,
        min(first_payment_date) as first_payment_date,
        max(last_payment_date) as last_payment_date
    from off_contract_monthly
    group by council_id, fiscal_year, supplier_id, category_l1, category_l2

),

final as (

    select
        off_contract.council_id,
        off_contract.fiscal_year,
        off_contract.supplier_id,
        off_contract.category_l1,
        off_contract.category_l2,
        cast(off_contract.off_contract_spend_gbp as decimal(18, 2)) as off_contract_spend_gbp,
        cast(off_contract.line_count as bigint) as line_count,
        cast(off_contract.months_paid as integer) as months_paid,
        off_contract.first_payment_date,
        off_contract.last_payment_date,
        had_contract.supplier_id is not null as has_contract_outside_dates,
        (
            off_contract.supplier_id not in ('redacted', 'unknown')
            and off_contract.months_paid >= 3
            and off_contract.off_contract_spend_gbp >= {{ var('off_contract_threshold_gbp') }}
        ) as is_recurring_above_threshold
    from off_contract
    left join had_contract
        on off_contract.council_id = had_contract.council_id and off_contract.supplier_id = had_contract.supplier_id

)

select * from final
