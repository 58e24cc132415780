{#- Every spend mart adds up to fct_spend per council: nothing dropped or double counted on the way. -#}
with

fct as (

    select
        council_id,
        sum(amount_gbp) as total_gbp
    from {{ ref('fct_spend') }}
    group by council_id

),

marts as (

    select
        'mart_procurement_kpis' as mart,
        council_id,
        sum(total_spend_gbp) as total_gbp
    from {{ ref('mart_procurement_kpis') }}
    group by council_id
    union all
    select
        'mart_local_spend' as mart,
        council_id,
        sum(total_spend_gbp) as total_gbp
    from {{ ref('mart_local_spend') }}
    group by council_id
    union all
    select
        'mart_spend_by_category' as mart,
        council_id,
        sum(total_spend_gbp) as total_gbp
    from {{ ref('mart_spend_by_category') }}
    group by council_id
    union all
    select
        'mart_off_contract_spend + on contract' as mart,
        council_id,
        sum(total_gbp) as total_gbp
    from (
        select
            council_id,
            off_contract_spend_gbp as total_gbp
        from {{ ref('mart_off_contract_spend') }}
        union all
        select
            council_id,
            amount_gbp as total_gbp
        from {{ ref('fct_spend') }}
        where is_on_contract
    ) as split
    group by council_id

)

select
    marts.mart,
    marts.council_id,
    marts.total_gbp as mart_total_gbp,
    fct.total_gbp as fct_spend_total_gbp
from marts
left join fct on marts.council_id = fct.council_id
where fct.total_gbp is null or marts.total_gbp <> fct.total_gbp
