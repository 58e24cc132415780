{#- Every Contracts Finder / Find a Tender release, attributed: the council's own notice when
    its buyer is one of the council's configured buyers (config buyer_ids, else buyer_names,
    which default to the council's name; case and spacing ignored), otherwise a market notice
    (council_id null) kept for market intelligence. An id match wins over a name match; a
    buyer claimed by two councils is refused by the config loader, and ties break on
    council_id so the model stays one row per release. -#}
with

releases as (

    select * from {{ ref('stg_contracts_finder__releases') }}

),

councils as (

    select * from {{ ref('stg_council__councils') }}

),

release_buyers as (

    select
        release_key,
        '|' || upper(regexp_replace(nullif(trim(buyer_id), ''), '\s+', '', 'g')) || '|' as buyer_id_key,
        '|' || upper(regexp_replace(nullif(trim(buyer_name), ''), '\s+', ' ', 'g')) || '|' as buyer_name_key
    from releases

),

candidates as (

    select
        release_buyers.release_key,
        councils.council_id,
        1 as match_rank,
        'buyer_id' as matched_on
    from release_buyers
    inner join councils on strpos(councils.buyer_id_keys, release_buyers.buyer_id_key) > 0

    union all

    select
        release_buyers.release_key,
        councils.council_id,
        2 as match_rank,
        'buyer_name' as matched_on
    from release_buyers
    inner join councils on strpos(councils.buyer_name_keys, release_buyers.buyer_name_key) > 0

),

ranked as (

    select
        release_key,
        council_id,
        matched_on,
        row_number() over (partition by release_key order by match_rank, council_id) as rank_in_release
    from candidates

),

final as (

    select
        releases.release_key,
        releases.ocid,
        releases.release_id,
        releases.notice_id,
        releases.publisher,
        releases.buyer_id,
        releases.buyer_name,
        releases.title,
        releases.cpv_code,
        releases.tender_value_gbp,
        releases.released_at,
        ranked.council_id,
        ranked.matched_on,
        ranked.council_id is not null as is_own_notice
    from releases
    left join ranked
        on
            releases.release_key = ranked.release_key
            and ranked.rank_in_release = 1

)

select * from final
