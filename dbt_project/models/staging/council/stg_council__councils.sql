with

source as (

    select * from {{ source('council', 'councils') }}

),

renamed as (

    select
        -- ids
        council_id,

        -- strings
        council_name,
        coalesce(local_postcode_prefixes, '') as local_postcode_prefixes,
        -- '|NAME A|NAME B|': upper case, spaces collapsed, for a portable strpos() match (default: the name)
        '|' || regexp_replace(
            upper(regexp_replace(trim(coalesce(nullif(buyer_names, ''), council_name)), '\s+', ' ', 'g')),
            ' ?\| ?', '|', 'g'
        ) || '|' as buyer_name_keys,
        '|' || upper(regexp_replace(coalesce(buyer_ids, ''), '\s+', '', 'g')) || '|' as buyer_id_keys,

        -- numerics
        fiscal_year_start_month

    from source

)

select * from renamed
