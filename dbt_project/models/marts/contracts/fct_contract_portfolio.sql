{#- Every contract (int_contracts_unioned: the register's, plus CF/FTS awards no register row cites), with
    the spend fct_spend attributed to it. Dates are measured against the latest payment the council has
    loaded (the as-at date), not the wall clock, so a rebuild of the same data gives the same answer.

    Each payment is attributed to at most one contract (fct_spend.contract_id / outside_contract_id), so no
    pound is counted twice: spend to date is what was paid under the contract while it was live; spend after
    end is what was paid to the supplier after the contract ended that no live contract covered. -#}
with

contracts as (

    select * from {{ ref('int_contracts_unioned') }}

),

spend as (

    select * from {{ ref('fct_spend') }}

),

off_contract as (

    select * from {{ ref('mart_off_contract_spend') }}

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
        sum(amount_gbp) as spend_to_date_gbp
    from spend
    where contract_id is not null
    group by contract_id

),

spend_after_end as (

    select
        outside_contract_id as contract_id,
        sum(amount_gbp) as spend_after_end_gbp
    from spend
    where contract_attribution = 'after_contract_end'
    group by outside_contract_id

),

recurring_off_contract as (

    select distinct
        council_id,
        supplier_id
    from off_contract
    where is_recurring_above_threshold

),

measured as (

    select
        contracts.*,
        coalesce(contract_spend.spend_to_date_gbp, 0) as spend_to_date_gbp,
        coalesce(spend_after_end.spend_after_end_gbp, 0) as spend_after_end_gbp,
        as_at.as_at_date,
        {{ dbt.datediff('as_at.as_at_date', 'contracts.end_date', 'day') }}
            as days_to_expiry,
        recurring_off_contract.supplier_id is not null as has_recurring_off_contract_spend
    from contracts
    left join as_at on contracts.council_id = as_at.council_id
    left join contract_spend on contracts.contract_id = contract_spend.contract_id
    left join spend_after_end on contracts.contract_id = spend_after_end.contract_id
    left join recurring_off_contract
        on
            contracts.council_id = recurring_off_contract.council_id
            and contracts.supplier_id = recurring_off_contract.supplier_id

),

category_suppliers as (

    -- live contracts only: a category one supplier holds alone is a resilience risk
    select
        council_id,
        procurement_category,
        count(distinct supplier_id) as live_supplier_count
    from measured
    where procurement_category is not null and (days_to_expiry is null or days_to_expiry >= 0)
    group by council_id, procurement_category

),

final as (

    select
        measured.contract_id,
        measured.contract_source,
        measured.council_id,
        measured.contract_ref,
        measured.ocid,
        coalesce(measured.supplier_id, {{ unknown_supplier_id() }}) as supplier_id,
        measured.supplier_name,
        measured.title,
        measured.service_area,
        measured.procurement_category,
        measured.procurement_route,
        cast(measured.total_value_gbp as decimal(18, 2)) as contract_value_gbp,
        measured.start_date,
        measured.end_date,
        measured.extension_options,
        coalesce(measured.extension_options, '') not in ('', 'None', 'none', 'No', 'no', 'N/A')
            as has_extension_options,
        cast(measured.spend_to_date_gbp as decimal(18, 2)) as spend_to_date_gbp,
        cast(measured.spend_to_date_gbp / nullif(measured.total_value_gbp, 0) as decimal(12, 6))
            as value_consumed_share,
        cast(measured.days_to_expiry as integer) as days_to_expiry,
        case
            when measured.end_date is null then 'no end date'
            when measured.days_to_expiry < 0 then 'expired'
            when measured.days_to_expiry <= 183 then '0-6 months'
            when measured.days_to_expiry <= 365 then '6-12 months'
            when measured.days_to_expiry <= 548 then '12-18 months'
            else '>18 months'
        end as expiry_band,
        measured.is_published_on_cf_fts,
        measured.total_value_gbp is not null
        and measured.spend_to_date_gbp > measured.total_value_gbp as is_spend_beyond_value,
        coalesce(measured.days_to_expiry < 0 and measured.spend_after_end_gbp > 0, false) as is_expired_but_paid,
        cast(measured.spend_after_end_gbp as decimal(18, 2)) as spend_after_end_gbp,
        measured.has_recurring_off_contract_spend,
        coalesce(category_suppliers.live_supplier_count = 1, false) as is_single_supplier_in_category,
        measured.as_at_date
    from measured
    left join category_suppliers
        on
            measured.council_id = category_suppliers.council_id
            and measured.procurement_category = category_suppliers.procurement_category
            and (measured.days_to_expiry is null or measured.days_to_expiry >= 0)

)

select * from final
