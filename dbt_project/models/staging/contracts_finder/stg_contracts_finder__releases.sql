with

source as (

    select * from {{ source('contracts_finder', 'notice_releases') }}

),

renamed as (

    select
        -- ids
        release_key,
        ocid,
        release_id,
        regexp_replace(release_id, '-[0-9]+$', '') as notice_id,
        buyer_id,

        -- strings
        tags,
        buyer_name,
        title,
        description,
        status,
        cpv_code,
        cpv_description,
        procurement_method,
        case when ocid like 'ocds-h6vhtk-%' then 'Find a Tender' else 'Contracts Finder' end as publisher,

        -- numerics
        cast(tender_value_gbp as decimal(18, 2)) as tender_value_gbp,

        -- booleans
        suitable_for_sme,
        suitable_for_vcse,

        -- dates
        release_date as released_at

    from source

)

select * from renamed
