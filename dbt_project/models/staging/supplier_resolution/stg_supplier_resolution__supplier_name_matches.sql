with

source as (

    select * from {{ source('supplier_resolution', 'supplier_name_matches') }}

),

renamed as (

    select
        -- ids
        supplier_name,
        name_key,
        cluster_key,
        company_number,

        -- strings
        match_rule

    from source

)

select * from renamed
