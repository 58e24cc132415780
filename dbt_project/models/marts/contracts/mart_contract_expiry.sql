{#- The contracts a board must decide on, per council and reporting month: those started by the month's end
    that end within the 12 months after it (expiring), and those that ended in the 12 months up to it
    (lapsed). One row per council, month and contract; the board pack lists these rows and
    mart_procurement_kpis counts them, so the two cannot disagree.

    Risk, not date, orders them: spend_at_risk_gbp is, for an expiring contract, what was paid under it in
    the 12 months to the month's end (the yearly spend that needs cover when it ends); for a lapsed one,
    what the supplier was paid after its end with no live contract covering it, up to the month's end.
    value_rank is the contract's place among all the council's contracts by value (1 = largest). -#}
with

months as (

    select distinct
        council_id,
        month,
        cast({{ dbt.dateadd('month', 1, 'month') }} as date) as next_month
    from {{ ref('int_spend_months_summed') }}

),

contracts as (

    select * from {{ ref('int_contracts_unioned') }}

),

spend as (

    select * from {{ ref('fct_spend') }}

),

ranked as (

    select
        contracts.*,
        rank() over (
            partition by contracts.council_id order by coalesce(contracts.total_value_gbp, 0) desc
        ) as value_rank
    from contracts

),

contract_months as (

    -- per contract and month first: the 12-month windows below add up a few rows, not every line
    select
        case when contract_attribution = 'on_contract' then contract_id else outside_contract_id end
            as contract_id,
        contract_attribution,
        payment_month,
        sum(amount_gbp) as spend_gbp
    from spend
    where contract_attribution in ('on_contract', 'after_contract_end')
    group by 1, 2, 3

),

in_scope as (

    select
        months.council_id,
        months.month,
        months.next_month,
        cast({{ dbt.dateadd('day', -1, 'months.next_month') }} as date) as month_end,
        ranked.contract_id,
        ranked.contract_source,
        ranked.contract_ref,
        ranked.title,
        ranked.supplier_id,
        ranked.supplier_name,
        ranked.procurement_route,
        ranked.total_value_gbp,
        ranked.start_date,
        ranked.end_date,
        ranked.value_rank,
        case
            when ranked.end_date < months.next_month then 'lapsed'
            when ranked.end_date < {{ dbt.dateadd('month', 6, 'months.next_month') }} then '0-6 months'
            else '6-12 months'
        end as expiry_band
    from months
    inner join ranked
        on
            months.council_id = ranked.council_id
            and (ranked.start_date is null or months.next_month > ranked.start_date)
            and ranked.end_date >= {{ dbt.dateadd('month', -12, 'months.next_month') }}
            and ranked.end_date < {{ dbt.dateadd('month', 12, 'months.next_month') }}

),

at_risk as (

    select
        in_scope.council_id,
        in_scope.month,
        in_scope.contract_id,
        sum(
            case
                when in_scope.expiry_band = 'lapsed' and contract_months.contract_attribution = 'after_contract_end'
                    then contract_months.spend_gbp
                when in_scope.expiry_band <> 'lapsed' and contract_months.contract_attribution = 'on_contract'
                    then contract_months.spend_gbp
                else 0
            end
        ) as spend_at_risk_gbp
    from in_scope
    inner join contract_months
        on
            in_scope.contract_id = contract_months.contract_id
            and in_scope.next_month > contract_months.payment_month
            and contract_months.payment_month >= {{ dbt.dateadd('month', -12, 'in_scope.next_month') }}
    group by in_scope.council_id, in_scope.month, in_scope.contract_id

),

final as (

    select
        in_scope.council_id,
        in_scope.month,
        in_scope.contract_id,
        in_scope.contract_source,
        in_scope.contract_ref,
        in_scope.title,
        coalesce(in_scope.supplier_id, {{ unknown_supplier_id() }}) as supplier_id,
        in_scope.supplier_name,
        in_scope.procurement_route,
        cast(in_scope.total_value_gbp as decimal(18, 2)) as contract_value_gbp,
        in_scope.start_date,
        in_scope.end_date,
        cast(
            {{ dbt.datediff('in_scope.month_end', 'in_scope.end_date', 'day') }}
            as integer
        ) as days_to_expiry,
        in_scope.expiry_band,
        cast(coalesce(at_risk.spend_at_risk_gbp, 0) as decimal(18, 2)) as spend_at_risk_gbp,
        cast(in_scope.value_rank as bigint) as value_rank,
        in_scope.total_value_gbp is not null and in_scope.value_rank <= 10 as is_top10_by_value
    from in_scope
    left join at_risk
        on
            in_scope.council_id = at_risk.council_id
            and in_scope.month = at_risk.month
            and in_scope.contract_id = at_risk.contract_id

)

select * from final
