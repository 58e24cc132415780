{#- Spend with no live contract behind it, per council, fiscal year, supplier and category.

    A payment is off contract when fct_spend attributed it to no live contract (contract_attribution), and
    is split by why: paid after the end of a contract with the supplier, before the start of one, or with
    no contract with the supplier at all. The after-end pounds are the ones fct_contract_portfolio charges
    to the contract that ended (spend_after_end_gbp): both read the same attribution, so they agree.
    Recurring spend - paid in at least three months of the year and above the project variable
    off_contract_threshold_gbp - is what the strategy asks to put under contract.
    Redacted and unstated payees are kept (their own supplier rows) so the totals reconcile. -#}
with

spend as (

    select * from {{ ref('fct_spend') }}

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
        sum(case when contract_attribution = 'after_contract_end' then amount_gbp else 0 end) as after_end_gbp,
        sum(case when contract_attribution = 'before_contract_start' then amount_gbp else 0 end)
            as before_start_gbp,
        sum(case when contract_attribution = 'no_contract' then amount_gbp else 0 end) as no_contract_gbp,
        sum(case when contract_attribution <> 'no_contract' then 1 else 0 end) as outside_dates_line_count,
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
        sum(after_end_gbp) as after_contract_end_gbp,
        sum(before_start_gbp) as before_contract_start_gbp,
        sum(no_contract_gbp) as no_contract_gbp,
        sum(outside_dates_line_count) as outside_dates_line_count,
        sum(line_count) as line_count,
        count(payment_month) as months_paid,
        min(first_payment_date) as first_payment_date,
        max(last_payment_date) as last_payment_date
    from off_contract_monthly
    group by council_id, fiscal_year, supplier_id, category_l1, category_l2

),

final as (

    select
        council_id,
        fiscal_year,
        supplier_id,
        category_l1,
        category_l2,
        cast(off_contract_spend_gbp as decimal(18, 2)) as off_contract_spend_gbp,
        cast(after_contract_end_gbp as decimal(18, 2)) as after_contract_end_gbp,
        cast(before_contract_start_gbp as decimal(18, 2)) as before_contract_start_gbp,
        cast(no_contract_gbp as decimal(18, 2)) as no_contract_gbp,
        cast(line_count as bigint) as line_count,
        cast(months_paid as integer) as months_paid,
        first_payment_date,
        last_payment_date,
        outside_dates_line_count > 0 as has_contract_outside_dates,
        (
            supplier_id not in {{ placeholder_supplier_ids() }}
            and months_paid >= 3
            and off_contract_spend_gbp >= {{ var('off_contract_threshold_gbp') }}
        ) as is_recurring_above_threshold
    from off_contract

)

select * from final
