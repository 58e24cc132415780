{#- Contracts the public cannot see, one row per contract and finding, per council:
    - 'no notice': a register contract of var transparency_notice_threshold_gbp or more with no Contracts Finder /
      Find a Tender notice loaded for it ('notice cited, not found' when the register cites a notice reference
      that no loaded notice has);
    - 'not on register': a council award published on Contracts Finder / FTS that no register row cites.
    A register row citing a notice's ocid or notice id is the same contract (int_contracts_unioned). -#}
with

contracts as (

    select * from {{ ref('int_contracts_unioned') }}

),

register as (

    select * from {{ ref('int_contracts_supplier_keyed') }}

),

findings as (

    select
        contracts.*,
        register.notice_id as cited_notice_ref,
        case
            when contracts.contract_source = 'cf_fts' then 'not on register'
            when register.notice_id is not null then 'notice cited, not found'
            else 'no notice'
        end as finding
    from contracts
    left join register on contracts.contract_id = register.contract_id
    where
        contracts.contract_source = 'cf_fts'
        or (
            not contracts.is_published_on_cf_fts
            and contracts.total_value_gbp >= {{ var('transparency_notice_threshold_gbp') }}
        )

),

final as (

    select
        council_id,
        contract_id,
        finding,
        contract_source,
        contract_ref,
        cited_notice_ref,
        ocid,
        title,
        coalesce(supplier_id, {{ unknown_supplier_id() }}) as supplier_id,
        supplier_name,
        procurement_route,
        cast(total_value_gbp as decimal(18, 2)) as contract_value_gbp,
        start_date,
        end_date,
        cast({{ var('transparency_notice_threshold_gbp') }} as decimal(18, 2)) as notice_threshold_gbp
    from findings

)

select * from final
