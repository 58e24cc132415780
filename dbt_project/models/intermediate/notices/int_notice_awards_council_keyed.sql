{#- Contracts Finder / FTS awards let by a configured council, one row per award and supplier,
    with the resolved supplier. A notice belongs to a council when its buyer's name is the
    council's configured name (case and spacing ignored); notices of other buyers are left out.
    When several releases of one notice carry the same award, the latest release wins. -#}
with

awards as (

    select * from {{ ref('stg_contracts_finder__awards') }}

),

releases as (

    select * from {{ ref('stg_contracts_finder__releases') }}

),

councils as (

    select * from {{ ref('stg_council__councils') }}

),

suppliers as (

    select * from {{ ref('int_suppliers_resolved') }}

),

council_awards as (

    select
        councils.council_id,
        releases.ocid,
        releases.notice_id,
        releases.title,
        releases.publisher,
        releases.procurement_method,
        releases.released_at,
        awards.award_id,
        awards.party_id,
        awards.supplier_name,
        awards.status,
        awards.value_gbp,
        awards.awarded_at,
        awards.contract_start_date,
        awards.contract_end_date,
        row_number() over (
            partition by releases.ocid, awards.award_id, awards.party_id
            order by releases.released_at desc, releases.release_key desc
        ) as rank_in_award
    from awards
    inner join releases on awards.release_key = releases.release_key
    inner join councils on upper(trim(releases.buyer_name)) = upper(trim(councils.council_name))

),

final as (

    select
        md5('cf_fts|' || council_awards.ocid || '|' || council_awards.award_id || '|' || council_awards.party_id)
            as award_contract_id,
        council_awards.council_id,
        council_awards.ocid,
        council_awards.notice_id,
        council_awards.award_id,
        council_awards.title,
        council_awards.publisher,
        council_awards.procurement_method,
        council_awards.supplier_name,
        suppliers.supplier_id,
        council_awards.status,
        council_awards.value_gbp,
        cast(council_awards.awarded_at as date) as award_date,
        council_awards.contract_start_date,
        council_awards.contract_end_date
    from council_awards
    left join suppliers on council_awards.supplier_name = suppliers.supplier_name
    where council_awards.rank_in_award = 1

)

select * from final
