{#- How wide the supplier base is, for rationalising it: per council, reporting month (financial year to date)
    and category, plus one 'All categories' row per council and month.

    Gross payments (credits left out) to identified suppliers (placeholder payees cannot be told apart).
    A tail supplier is paid less than var tail_spend_threshold_gbp a year: its year-to-date spend in the scope of
    the row, annualised over the months of the year loaded so far, is under the threshold. A one-off supplier
    has a single payment line in the year to date. The same supplier counts once in each category it is paid
    in, and once in 'All categories' (its spend across all of them). -#}
with

spend as (

    select * from {{ ref('fct_spend') }}

),

months as (

    select distinct
        council_id,
        fiscal_year,
        payment_month as month
    from spend

),

months_elapsed as (

    -- months of the financial year loaded up to and including each month
    select
        months.council_id,
        months.month,
        count(*) as months_loaded
    from months
    inner join months as earlier
        on
            months.council_id = earlier.council_id
            and months.fiscal_year = earlier.fiscal_year
            and months.month >= earlier.month
    group by months.council_id, months.month

),

paid as (

    select
        council_id,
        fiscal_year,
        payment_month,
        category_l1,
        supplier_id,
        sum(amount_gbp) as spend_gbp,
        count(*) as line_count
    from spend
    where not is_credit and supplier_id not in {{ placeholder_supplier_ids() }}
    group by council_id, fiscal_year, payment_month, category_l1, supplier_id

),

to_date as (

    select
        months.council_id,
        months.fiscal_year,
        months.month,
        paid.category_l1,
        paid.supplier_id,
        sum(paid.spend_gbp) as spend_gbp,
        sum(paid.line_count) as line_count
    from months
    inner join paid
        on
            months.council_id = paid.council_id
            and months.fiscal_year = paid.fiscal_year
            and months.month >= paid.payment_month
    group by months.council_id, months.fiscal_year, months.month, paid.category_l1, paid.supplier_id

),

scoped as (

    select
        council_id,
        fiscal_year,
        month,
        category_l1,
        supplier_id,
        spend_gbp,
        line_count
    from to_date
    union all
    select
        council_id,
        fiscal_year,
        month,
        'All categories' as category_l1,
        supplier_id,
        sum(spend_gbp) as spend_gbp,
        sum(line_count) as line_count
    from to_date
    group by council_id, fiscal_year, month, supplier_id

),

flagged as (

    select
        scoped.*,
        months_elapsed.months_loaded,
        scoped.spend_gbp * 12 < {{ var('tail_spend_threshold_gbp') }} * months_elapsed.months_loaded as is_tail,
        scoped.line_count = 1 as is_one_off
    from scoped
    inner join months_elapsed
        on scoped.council_id = months_elapsed.council_id and scoped.month = months_elapsed.month

),

final as (

    select
        council_id,
        fiscal_year,
        month,
        category_l1,
        cast(max(months_loaded) as integer) as months_loaded,
        cast({{ var('tail_spend_threshold_gbp') }} as decimal(18, 2)) as tail_threshold_gbp,
        cast(count(*) as bigint) as supplier_count,
        cast(sum(spend_gbp) as decimal(18, 2)) as total_spend_gbp,
        cast(sum(case when is_tail then 1 else 0 end) as bigint) as tail_supplier_count,
        cast(
            cast(sum(case when is_tail then 1 else 0 end) as decimal(18, 6)) / count(*) as decimal(9, 6)
        ) as tail_supplier_share,
        cast(sum(case when is_tail then spend_gbp else 0 end) as decimal(18, 2)) as tail_spend_gbp,
        cast(
            sum(case when is_tail then spend_gbp else 0 end) / nullif(sum(spend_gbp), 0) as decimal(9, 6)
        ) as tail_spend_share,
        cast(sum(case when is_one_off then 1 else 0 end) as bigint) as one_off_supplier_count,
        cast(
            cast(sum(case when is_one_off then 1 else 0 end) as decimal(18, 6)) / count(*) as decimal(9, 6)
        ) as one_off_supplier_share,
        cast(sum(case when is_one_off then spend_gbp else 0 end) as decimal(18, 2)) as one_off_spend_gbp
    from flagged
    group by council_id, fiscal_year, month, category_l1

)

select * from final
