{#- Every way a supplier is named, from every source, with the evidence each gives
    (identifiers, postcode, SME and VCSE flags) and the resolver's name key. One row per
    piece of evidence (evidence_id): a spend name with its identifiers per council, a
    contract-register contract, a notice party. -#}
with

spend as (

    select
        md5(
            'spend|' || council_id || '|' || supplier_name || '|' || coalesce(supplier_ref, '') || '|'
            || coalesce(company_number, '') || '|' || coalesce(charity_number, '')
        ) as evidence_id,
        council_id,
        supplier_name,
        supplier_ref,
        company_number,
        charity_number,
        count(*) as line_count
    from {{ ref('stg_finance__spend_lines') }}
    where not is_redacted and supplier_name is not null
    group by 1, 2, 3, 4, 5, 6

),

register as (

    select
        contract_id as evidence_id,
        council_id,
        supplier_name,
        supplier_company_number as company_number,
        supplier_charity_number as charity_number,
        supplier_postcode as postcode,
        is_sme,
        is_vcse
    from {{ ref('stg_contract_register__contracts') }}
    where supplier_name is not null

),

notices as (

    {#- the postcode field when given, else a postcode written inside the street address -#}
    select
        party_key as evidence_id,
        party_name as supplier_name,
        company_number,
        coalesce(nullif(trim(postal_code), ''), {{ extract_postcode('street_address') }}) as postcode,
        is_sme,
        is_vcse
    from {{ ref('stg_contracts_finder__parties') }}
    where roles like '%supplier%' and party_name is not null

),

unioned as (

    select
        evidence_id,
        'spend' as evidence_source,
        council_id,
        supplier_name,
        supplier_ref,
        company_number,
        charity_number,
        cast(null as varchar) as postcode,
        cast(null as boolean) as is_sme,
        cast(null as boolean) as is_vcse,
        line_count
    from spend

    union all

    select
        evidence_id,
        'contract_register' as evidence_source,
        council_id,
        supplier_name,
        cast(null as varchar) as supplier_ref,
        company_number,
        charity_number,
        postcode,
        is_sme,
        is_vcse,
        0 as line_count
    from register

    union all

    select
        evidence_id,
        'contracts_finder' as evidence_source,
        cast(null as varchar) as council_id,
        supplier_name,
        cast(null as varchar) as supplier_ref,
        company_number,
        cast(null as varchar) as charity_number,
        postcode,
        is_sme,
        is_vcse,
        0 as line_count
    from notices

),

matches as (

    select * from {{ ref('stg_supplier_resolution__supplier_name_matches') }}

),

final as (

    select
        unioned.*,
        matches.name_key
    from unioned
    left join matches on unioned.supplier_name = matches.supplier_name

)

select * from final
