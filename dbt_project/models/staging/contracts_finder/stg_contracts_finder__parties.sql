with

source as (

    select * from {{ source('contracts_finder', 'notice_parties') }}

),

renamed as (

    select
        -- ids
        release_key || '|' || party_id as party_key,
        release_key,
        party_id,
        case when party_id like 'GB-COH-%' then substr(party_id, 8) end as company_number,

        -- strings
        name as party_name,
        roles,
        upper(trim(postal_code)) as postal_code,
        street_address,
        locality,
        country_name,
        scale,

        -- booleans
        scale = 'sme' as is_sme,
        is_vcse

    from source

)

select * from renamed
