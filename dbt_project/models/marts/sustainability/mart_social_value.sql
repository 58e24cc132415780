{#- Social value per council and contract: what was committed (the weight of social value in the notice's
    award criteria; TOMs commitments recorded in seed social_value_records) against what has been
    delivered (TOMs proxy values recorded in the same seed). A contract appears when anything is recorded
    for it; a council with no row has no social value measured. -#}
with

commitments as (

    select * from {{ ref('int_notice_social_value_commitments') }}

),

records as (

    select * from {{ ref('social_value_records') }}

),

portfolio as (

    select * from {{ ref('fct_contract_portfolio') }}

),

register_by_ocid as (

    select
        council_id,
        ocid,
        min(contract_ref) as contract_ref
    from portfolio
    where contract_source = 'register' and ocid is not null
    group by council_id, ocid

),

notice_side as (

    select
        commitments.council_id,
        coalesce(register.contract_ref, commitments.ocid) as contract_key,
        commitments.ocid,
        commitments.title,
        commitments.weight_pct
    from commitments
    left join register_by_ocid as register
        on commitments.council_id = register.council_id and commitments.ocid = register.ocid

),

record_side as (

    select
        council_id,
        contract_ref as contract_key,
        sum(case when record_type = 'committed' then proxy_value_gbp end) as committed_proxy_gbp,
        sum(case when record_type = 'delivered' then proxy_value_gbp end) as delivered_proxy_gbp,
        string_agg(distinct case when record_type = 'committed' then toms_measure_code end, ', ')
            as committed_measures,
        string_agg(distinct case when record_type = 'delivered' then toms_measure_code end, ', ')
            as delivered_measures,
        max(case when record_type = 'delivered' then fiscal_year end) as last_delivered_fiscal_year
    from records
    group by council_id, contract_ref

),

keys as (

    select
        council_id,
        contract_key
    from notice_side
    union
    select
        council_id,
        contract_key
    from record_side

),

contracts as (

    -- a key is a register reference, an award id or an ocid
    select
        council_id,
        contract_ref as contract_key,
        min(contract_id) as contract_id,
        min(supplier_name) as supplier_name,
        min(title) as title,
        max(contract_value_gbp) as contract_value_gbp
    from portfolio
    group by council_id, contract_ref
    union all
    select
        council_id,
        ocid as contract_key,
        min(contract_id) as contract_id,
        min(supplier_name) as supplier_name,
        min(title) as title,
        max(contract_value_gbp) as contract_value_gbp
    from portfolio
    where ocid is not null and ocid <> contract_ref
    group by council_id, ocid

),

contract_per_key as (

    select
        council_id,
        contract_key,
        min(contract_id) as contract_id,
        min(supplier_name) as supplier_name,
        min(title) as title,
        max(contract_value_gbp) as contract_value_gbp
    from contracts
    group by council_id, contract_key

),

final as (

    select
        keys.council_id,
        keys.contract_key,
        contract_per_key.contract_id,
        notice_side.ocid,
        coalesce(contract_per_key.title, notice_side.title) as title,
        contract_per_key.supplier_name,
        cast(contract_per_key.contract_value_gbp as decimal(18, 2)) as contract_value_gbp,
        cast(notice_side.weight_pct as decimal(9, 2)) as social_value_weight_pct,
        cast(record_side.committed_proxy_gbp as decimal(18, 2)) as committed_proxy_gbp,
        cast(record_side.delivered_proxy_gbp as decimal(18, 2)) as delivered_proxy_gbp,
        cast(
            record_side.delivered_proxy_gbp / nullif(record_side.committed_proxy_gbp, 0) as decimal(12, 6)
        ) as delivered_share,
        record_side.committed_measures,
        record_side.delivered_measures,
        record_side.last_delivered_fiscal_year,
        case
            when
                coalesce(record_side.delivered_proxy_gbp, 0) <> 0
                and (record_side.committed_proxy_gbp is not null or notice_side.ocid is not null)
                then 'committed and delivered'
            when coalesce(record_side.delivered_proxy_gbp, 0) <> 0 then 'delivered, no commitment recorded'
            else 'committed, no delivery recorded'
        end as status
    from keys
    left join notice_side
        on keys.council_id = notice_side.council_id and keys.contract_key = notice_side.contract_key
    left join record_side
        on keys.council_id = record_side.council_id and keys.contract_key = record_side.contract_key
    left join contract_per_key
        on keys.council_id = contract_per_key.council_id and keys.contract_key = contract_per_key.contract_key

)

select * from final
