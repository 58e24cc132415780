{#- Every way a supplier is named, from every source, with the evidence each gives
    (identifiers, postcode, SME and VCSE flags). -#}
with

spend as (

    select
        council_id,
        supplier_name,
        supplier_ref,
        company_number,
        charity_number,
        count(*) as line_count
    from {{ ref('stg_finance__spend_lines') }}
    where not is_redacted and supplier_name is not null
    group by 1, 2, 3, 4, 5

),

register as (

    select
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

)

select
    *,
    {{ normalise_name('supplier_name') }} as name_key
from unioned
