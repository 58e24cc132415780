{#- Pairs of payments that may be the same invoice paid twice, for recovery review: the same council,
    supplier and amount, and either the same transaction / invoice reference or paid within
    var('duplicate_payment_window_days') days of each other. Legitimate repeats are left out: a supplier paid
    the same amount in three or more different months (a standing order or fixed monthly fee) is not
    flagged for the timing alone. Redacted and unstated payees cannot be told apart and are left out, as are
    credits. One row per pair (the earlier line first); amount_at_stake_gbp is the amount one of the two
    would have overpaid. -#}
with

spend as (

    select * from {{ ref('fct_spend') }}
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

same_reference as (

    select
        first_line.spend_line_id as first_spend_line_id,
        second_line.spend_line_id as second_spend_line_id,
        'same reference' as reason
    from spend as first_line
    inner join spend as second_line
        on
            first_line.council_id = second_line.council_id
            and first_line.supplier_id = second_line.supplier_id
            and first_line.amount_gbp = second_line.amount_gbp
            and first_line.transaction_number = second_line.transaction_number
            and (
                first_line.payment_date < second_line.payment_date
                or (
                    first_line.payment_date = second_line.payment_date
                    and first_line.spend_line_id < second_line.spend_line_id
                )
            )
    where first_line.transaction_number is not null and trim(first_line.transaction_number) <> ''

),

close_in_time as (

    select
        first_line.spend_line_id as first_spend_line_id,
        second_line.spend_line_id as second_spend_line_id,
        'same amount within {{ var("duplicate_payment_window_days") }} days' as reason
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
            and second_line.payment_date
            <= {{ dbt.dateadd('day', var('duplicate_payment_window_days'), 'first_line.payment_date') }}
    where not exists (
        select 1
        from repeated_amounts
        where
            repeated_amounts.council_id = first_line.council_id
            and repeated_amounts.supplier_id = first_line.supplier_id
            and repeated_amounts.amount_gbp = first_line.amount_gbp
    )

),

pairs as (

    -- a pair with the same reference is reported once, for its reference
    select * from same_reference
    union all
    select close_in_time.*
    from close_in_time
    where not exists (
        select 1
        from same_reference
        where
            same_reference.first_spend_line_id = close_in_time.first_spend_line_id
            and same_reference.second_spend_line_id = close_in_time.second_spend_line_id
    )

),

final as (

    select
        first_line.council_id,
        first_line.supplier_id,
        pairs.first_spend_line_id,
        pairs.second_spend_line_id,
        pairs.reason,
        cast(first_line.amount_gbp as decimal(18, 2)) as amount_at_stake_gbp,
        first_line.payment_date as first_payment_date,
        second_line.payment_date as second_payment_date,
        cast(
            {{ dbt.datediff('first_line.payment_date', 'second_line.payment_date', 'day') }}
            as integer
        ) as days_apart,
        first_line.transaction_number as first_transaction_number,
        second_line.transaction_number as second_transaction_number,
        first_line.source_file as first_source_file,
        first_line.source_line as first_source_line,
        second_line.source_file as second_source_file,
        second_line.source_line as second_source_line,
        second_line.fiscal_year,
        second_line.payment_month
    from pairs
    inner join spend as first_line on pairs.first_spend_line_id = first_line.spend_line_id
    inner join spend as second_line on pairs.second_spend_line_id = second_line.spend_line_id

)

select * from final
