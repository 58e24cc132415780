{#- Net spend per council, ProClass level-1 category, service area and month: the history
    procure.transform.forecast reads to forecast each series (months with no spend are absent here and
    counted as 0 there). -#}
with

spend as (

    select * from {{ ref('fct_spend') }}

)

select
    council_id,
    category_l1,
    coalesce(service_area, 'Not stated') as service_area,
    payment_month as month,
    cast(sum(amount_gbp) as decimal(18, 2)) as spend_gbp
from spend
group by council_id, category_l1, coalesce(service_area, 'Not stated'), payment_month
