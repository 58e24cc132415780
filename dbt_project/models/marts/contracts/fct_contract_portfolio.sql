{#- Every contract on the register with its spend to date, expiry band and risk flags.
    Dates are measured against the latest payment the council has loaded (the as-at date),
    not the wall clock, so a rebuild of the same data gives the same answer. -#}
with

contracts as (

    select * from {{ ref('int_contracts_supplier_keyed') }}

),

spend as (

    select * from {{ ref('fct_spend') }}

),

as_at as (

    select
        council_id,
        max(payment_date) as as_at_date
    from spend
    group by council_id

),

contract_spend as (

    select
        contract_id,
        sum(amount_gbp) as spend_to_date_gbp,
        max(payment_date) as last_payment_date
    from spend
    where contract_id is not null
    group by contract_id

),

supplier_spend_after_end as (

    select
        contracts.contract_id,
        sum(spend.amount_gbp) as spend_after_end_gbp
    from contracts
    inner join spend
        on
            contracts.council_id = spend.council_id
            and contracts.supplier_id = spend.supplier_id
            and contracts.end_date < spend.payment_date
    group by contracts.contract_id

),

published as (

    -- a register may cite the ocid or the Contracts Finder notice id
    select ocid as notice_ref from {{ ref('stg_contracts_finder__releases') }}
    union
    select notice_id as notice_ref from {{ ref('stg_contracts_finder__releases') }}

),

measured as (

    select
        contracts.contract_id,
        contracts.council_id,
        contracts.contract_ref,
        contracts.supplier_id,
        contracts.supplier_name,
        contracts.title,
        contracts.service_area,
        contracts.procurement_category,
        contracts.procurement_route,
        contracts.total_value_gbp,
        contracts.start_date,
        contracts.end_date,
        contracts.extension_options,
        coalesce(contract_spend.spend_to_date_gbp, 0) as spend_to_date_gbp,
        coalesce(supplier_spend_after_end.spend_after_end_gbp, 0) as spend_after_end_gbp,
        as_at.as_at_date,
        {{ dbt.datediff('as_at.as_at_date', 'contracts.end_date', 'day') }}
            as days_to_expiry,
        published.notice_ref is not null as is_published_on_cf_fts,
        contracts.notice_id
    from contracts
    left join as_at on contracts.council_id = as_at.council_id
    left join contract_spend on contracts.contract_id = contract_spend.contract_id
    left join supplier_spend_after_end on contracts.contract_id = supplier_spend_after_end.contract_id
    left join published on contracts.notice_id = published.notice_ref

),

final as (

    select
        contract_id,
        council_id,
        contract_ref,
        coalesce(supplier_id, 'unknown') as supplier_id,
        supplier_name,
        title,
        service_area,
        procurement_category,
        procurement_route,
        cast(total_value_gbp as decimal(18, 2)) as contract_value_gbp,
        start_date,
        end_date,
        extension_options,
        cast(spend_to_date_gbp as decimal(18, 2)) as spend_to_date_gbp,
        cast(spend_to_date_gbp / nullif(total_value_gbp, 0) as decimal(12, 6)) as value_consumed_share,
        cast(days_to_expiry as integer) as days_to_expiry,
        case
            when end_date is null then 'no end date'
            when days_to_expiry < 0 then 'expired'
            when days_to_expiry <= 183 then '0-6 months'
            when days_to_expiry <= 365 then '6-12 months'
            when days_to_expiry <= 548 then '12-18 months'
            else '>18 months'
        end as expiry_band,
        is_published_on_cf_fts,
        total_value_gbp is not null and spend_to_date_gbp > total_value_gbp as is_spend_beyond_value,
        days_to_expiry < 0 and spend_after_end_gbp > 0 as is_expired_but_paid,
        cast(spend_after_end_gbp as decimal(18, 2)) as spend_after_end_gbp,
        as_at_date
    from measured

)

select * from final
