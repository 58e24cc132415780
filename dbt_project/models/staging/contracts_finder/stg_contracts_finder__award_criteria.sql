{#- Award criteria of a notice, one row per distinct criterion: the lots' criteria as the OCDS award
    criteria breakdown (Find a Tender) publishes them (tender.lots[].awardCriteria.criteria[]), plus the
    free-text tender.awardCriteriaDetails as one 'details' row. A criterion repeated on several lots is
    kept once. -#}
with

source as (

    select * from {{ source('contracts_finder', 'notice_releases') }}

),

lot_criteria as (

    select
        release_key,
        ocid,
        {{ json_path_items('release_json', '$.tender.lots[*].awardCriteria.criteria[*]') }} as criterion
    from source

),

renamed as (

    select distinct
        -- ids
        release_key,
        ocid,

        -- strings
        'lot_criterion' as criterion_source,
        {{ json_path_text('criterion', '$.type') }} as criterion_type,
        {{ json_path_text('criterion', '$.name') }} as criterion_name,
        {{ json_path_text('criterion', '$.description') }} as criterion_description,

        -- numerics
        cast({{ json_path_text('criterion', '$.numbers[0].number') }} as decimal(9, 2)) as weight

    from lot_criteria

    union all

    select
        release_key,
        ocid,
        'details' as criterion_source,
        cast(null as varchar) as criterion_type,
        cast(null as varchar) as criterion_name,
        {{ json_path_text('release_json', '$.tender.awardCriteriaDetails') }} as criterion_description,
        cast(null as decimal(9, 2)) as weight
    from source
    where {{ json_path_text('release_json', '$.tender.awardCriteriaDetails') }} is not null

)

select
    md5(
        release_key || '|' || criterion_source || '|' || coalesce(criterion_type, '') || '|'
        || coalesce(criterion_name, '') || '|' || coalesce(criterion_description, '') || '|'
        || coalesce(cast(weight as varchar), '')
    ) as criterion_key,
    *
from renamed
