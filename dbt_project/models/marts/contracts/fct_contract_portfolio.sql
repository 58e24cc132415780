{#- Every contract: the register's, plus Contracts Finder / FTS awards of the council that no register
    row cites (a register row citing the notice's ocid or notice id is the same contract, and is kept once,
    as the register row, flagged as published). Dates are measured against the latest payment the council
    has loaded (the as-at date), not the wall clock, so a rebuild of the same data gives the same answer.

    Spend to date: for register contracts, the payments fct_spend matched to the contract; for award-only
    contracts, payments to the supplier within the award's dates that no register contract covers. -#}
with

register as (

    select * from {{ ref('int_contracts_supplier_keyed') }}

),

awards as (

    select * from {{ ref('int_notice_awards_council_keyed') }}

),

releases as (

    select * from {{ ref('stg_contracts_finder__releases') }}

),

spend as (

    select * from {{ ref('fct_spend') }}

),

off_contract as (

    select * from {{ ref('mart_off_contract_spend') }}

),

published as (

    -- a register may cite the ocid or the Contracts Finder notice id
    select
        ocid as notice_ref,
        min(ocid) as ocid
    from releases
    group by ocid
    union all
    select
        notice_id as notice_ref,
        min(ocid) as ocid
    from releases
    where notice_id <> ocid
    group by notice_id

),

award_only as (

    select awards.*
    from awards
    where not exists (
        select 1
        from register
        where
            register.council_id = awards.council_id
            and (register.notice_id = awards.ocid or register.notice_id = awards.notice_id)
    )

),

contracts as (

    select
        register.contract_id,
        'register' as contract_source,
        register.council_id,
        register.contract_ref,
        published.ocid,
        register.supplier_id,
        register.supplier_name,
        register.title,
        register.service_area,
        register.procurement_category,
        register.procurement_route,
        register.total_value_gbp,
        cast(register.start_date as date) as start_date,
        cast(register.end_date as date) as end_date,
        register.extension_options,
        published.notice_ref is not null as is_published_on_cf_fts
    from register
    left join published on register.notice_id = published.notice_ref
    union all
    select
        award_contract_id as contract_id,
        'cf_fts' as contract_source,
        council_id,
        award_id as contract_ref,
        ocid,
        supplier_id,
        supplier_name,
        title,
        cast(null as varchar) as service_area,
        cast(null as varchar) as procurement_category,
        procurement_method as procurement_route,
        value_gbp as total_value_gbp,
        contract_start_date as start_date,
        contract_end_date as end_date,
        cast(null as varchar) as extension_options,
        true as is_published_on_cf_fts
    from award_only

),

as_at as (

    select
        council_id,
        max(payment_date) as as_at_date
    from spend
    group by council_id

),

register_spend as (

    select
        contract_id,
        sum(amount_gbp) as spend_to_date_gbp
    from spend
    where contract_id is not null
    group by contract_id

),

award_spend as (

    select
        award_only.award_contract_id as contract_id,
        sum(spend.amount_gbp) as spend_to_date_gbp
    from award_only
    inner join spend
        on
            award_only.council_id = spend.council_id
            and award_only.supplier_id = spend.supplier_id
            and spend.contract_id is null
            and spend.payment_date >= coalesce(award_only.contract_start_date, award_only.award_date)
            and spend.payment_date <= coalesce(award_only.contract_end_date, spend.payment_date)
    group by award_only.award_contract_id

),

spend_after_end as (

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
        coalesce(register_spend.spend_to_date_gbp, award_spend.spend_to_date_gbp, 0) as spend_to_date_gbp,
        coalesce(spend_after_end.spend_after_end_gbp, 0) as spend_after_end_gbp,
        as_at.as_at_date,
        {{ dbt.datediff('as_at.as_at_date', 'contracts.end_date', 'day') }}
            as days_to_expiry,
        recurring_off_contract.supplier_id is not null as has_recurring_off_contract_spend
    from contracts
    left join as_at on contracts.council_id = as_at.council_id
    left join register_spend on contracts.contract_id = register_spend.contract_id
    left join award_spend on contracts.contract_id = award_spend.contract_id
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
        coalesce(measured.supplier_id, 'unknown') as supplier_id,
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
