{#- Pairs of payments that may be the same invoice paid twice, for recovery review: the same council,
    supplier and amount, and either the same transaction / invoice reference or paid within
    var('duplicate_payment_window_days') days of each other. Legitimate repeats are left out: a supplier paid
    the same amount in three or more different months (a standing order or fixed monthly fee) is not
    flagged for the timing alone. Redacted and unstated payees cannot be told apart and are left out, as are
    credits. One row per pair (the earlier line first); amount_at_stake_gbp is the amount one of the two
    would have overpaid. -#}
with

spend as not materialized (

    -- not materialized: each reader scans fct_spend for the columns it needs, and PostgreSQL plans the
    -- self-join on fct_spend's statistics (a materialised CTE has none: it sorted and merged on disk)
    select
        spend_line_id,
        council_id,
        supplier_id,
        amount_gbp,
        transaction_number,
        payment_date,
        payment_month,
        fiscal_year,
        source_file,
        source_line
    from {{ ref('fct_spend') }}
    where not is_credit and amount_gbp > 0 and supplier_id not in {{ placeholder_supplier_ids() }}

),

repeated_amounts as (

    -- same supplier, same amount, three or more months: a standing order, not a duplicate
    select
        council_id,
        supplier_id,
        amount_gbp
    from spend
    group by council_id, supplier_id, amount_gbp
    having count(distinct payment_month) >= 3

),

same_amount as (

    -- every ordered pair of payments of one amount to one supplier by one council (one self-join for both
    -- reasons), the earlier line first; whether it has the same reference, and whether it is close in time
    select
        first_line.spend_line_id as first_spend_line_id,
        second_line.spend_line_id as second_spend_line_id,
        first_line.council_id,
        first_line.supplier_id,
        first_line.amount_gbp,
        first_line.payment_date as first_payment_date,
        second_line.payment_date as second_payment_date,
        first_line.transaction_number as first_transaction_number,
        second_line.transaction_number as second_transaction_number,
        first_line.source_file as first_source_file,
        first_line.source_line as first_source_line,
        second_line.source_file as second_source_file,
        second_line.source_line as second_source_line,
        second_line.fiscal_year,
        second_line.payment_month,
        coalesce(
            first_line.transaction_number = second_line.transaction_number
            and trim(first_line.transaction_number) <> '',
            false
        ) as is_same_reference,
        (
            second_line.payment_date
            <= {{ dbt.dateadd('day', var('duplicate_payment_window_days'), 'first_line.payment_date') }}
        ) as is_close_in_time
    from spend as first_line
    inner join spend as second_line
        on
            first_line.council_id = second_line.council_id
            and first_line.supplier_id = second_line.supplier_id
            and first_line.amount_gbp = second_line.amount_gbp
            and (
                first_line.payment_date < second_line.payment_date
                or (
                    first_line.payment_date = second_line.payment_date
                    and first_line.spend_line_id < second_line.spend_line_id
                )
            )

),

pairs as (

    -- the same reference at any distance; the same amount close in time unless it is a standing order.
    -- A pair with the same reference is reported once, for its reference.
    select
        same_amount.*,
        case
            when same_amount.is_same_reference then 'same reference'
            else 'same amount within {{ var("duplicate_payment_window_days") }} days'
        end as reason
    from same_amount
    left join repeated_amounts
        on
            same_amount.council_id = repeated_amounts.council_id
            and same_amount.supplier_id = repeated_amounts.supplier_id
            and same_amount.amount_gbp = repeated_amounts.amount_gbp
    where
        same_amount.is_same_reference
        or (same_amount.is_close_in_time and repeated_amounts.council_id is null)

),

final as (

    select
        council_id,
        supplier_id,
        first_spend_line_id,
        second_spend_line_id,
        reason,
        cast(amount_gbp as decimal(18, 2)) as amount_at_stake_gbp,
        first_payment_date,
        second_payment_date,
        cast(
            {{ dbt.datediff('first_payment_date', 'second_payment_date', 'day') }}
            as integer
        ) as days_apart,
        first_transaction_number,
        second_transaction_number,
        first_source_file,
        first_source_line,
        second_source_file,
        second_source_line,
        fiscal_year,
        payment_month
    from pairs

)

select * from final
