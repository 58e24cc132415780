{#- Every contract of a council, once: the register's rows, plus the council's Contracts Finder / FTS awards
    that no register row cites (a register row citing the notice's ocid or notice id is the same contract and
    is kept as the register row, flagged as published). The one list payments are attributed to (fct_spend)
    and the portfolio is reported from (fct_contract_portfolio).

    start_date: the contract's start, for an award without one its award date; a register row without a start
    is live from its first day on record (null: no lower bound). -#}
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

unioned as (

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
        cast(coalesce(contract_start_date, award_date) as date) as start_date,
        cast(contract_end_date as date) as end_date,
        cast(null as varchar) as extension_options,
        true as is_published_on_cf_fts
    from award_only

)

select * from unioned
