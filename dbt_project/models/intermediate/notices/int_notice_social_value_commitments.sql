{#- Social value commitments the council's own notices carry, one row per council and procurement (ocid): the
    weight given to a social value award criterion (a lot criterion whose name or description mentions
    social value; the largest weight when lots differ), or a percentage written next to "social value" in
    the free-text award criteria. The latest release that states one wins. -#}
with

criteria as (

    select * from {{ ref('stg_contracts_finder__award_criteria') }}

),

releases as (

    -- the council's own notices (buyer attribution is that model's rule)
    select * from {{ ref('int_notice_releases_attributed') }}
    where council_id is not null

),

social_value as (

    select
        criteria.release_key,
        criteria.ocid,
        case
            when criteria.criterion_source = 'lot_criterion' then criteria.weight
            else
                cast(
                    {{ regex_capture(
                        "lower(criteria.criterion_description)",
                        "social value[^0-9%]{0,40}([0-9]{1,2}(\\.[0-9]+)?) ?%"
                    ) }} as decimal(9, 2)
                )
        end as weight_pct,
        coalesce(criteria.criterion_name, 'award criteria details') as criterion_name
    from criteria
    where
        lower(coalesce(criteria.criterion_name, '')) like '%social value%'
        or lower(coalesce(criteria.criterion_description, '')) like '%social value%'

),

per_release as (

    select
        social_value.ocid,
        social_value.release_key,
        releases.released_at,
        releases.council_id,
        releases.title,
        max(social_value.weight_pct) as weight_pct,
        min(social_value.criterion_name) as criterion_name
    from social_value
    inner join releases on social_value.release_key = releases.release_key
    group by social_value.ocid, social_value.release_key, releases.released_at, releases.council_id, releases.title

),

ranked as (

    select
        per_release.*,
        row_number() over (
            partition by per_release.council_id, per_release.ocid
            order by per_release.released_at desc, per_release.release_key desc
        ) as rank_in_ocid
    from per_release

)

select
    council_id,
    ocid,
    release_key,
    title,
    criterion_name,
    cast(weight_pct as decimal(9, 2)) as weight_pct
from ranked
where rank_in_ocid = 1
