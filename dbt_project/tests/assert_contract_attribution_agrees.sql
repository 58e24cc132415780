{#- fct_contract_portfolio and mart_off_contract_spend split the same pounds (issue 15 item 1): per council,
    spend to date on contracts + off-contract spend = all spend; the portfolio's spend after end = the
    off-contract mart's after-end pounds; and off-contract spend = after end + before start + no contract.
    Returns the councils where any of these fails. -#}
with

spend as (

    select
        council_id,
        sum(amount_gbp) as total_gbp
    from {{ ref('fct_spend') }}
    group by council_id

),

portfolio as (

    select
        council_id,
        sum(spend_to_date_gbp) as on_contract_gbp,
        sum(spend_after_end_gbp) as after_end_gbp
    from {{ ref('fct_contract_portfolio') }}
    group by council_id

),

off_contract as (

    select
        council_id,
        sum(off_contract_spend_gbp) as off_contract_gbp,
        sum(after_contract_end_gbp) as after_end_gbp,
        sum(after_contract_end_gbp + before_contract_start_gbp + no_contract_gbp) as reasons_gbp
    from {{ ref('mart_off_contract_spend') }}
    group by council_id

)

select
    spend.council_id,
    spend.total_gbp,
    portfolio.on_contract_gbp,
    portfolio.after_end_gbp as portfolio_after_end_gbp,
    off_contract.off_contract_gbp,
    off_contract.after_end_gbp as off_contract_after_end_gbp,
    off_contract.reasons_gbp
from spend
left join portfolio on spend.council_id = portfolio.council_id
left join off_contract on spend.council_id = off_contract.council_id
where
    coalesce(portfolio.on_contract_gbp, 0) + coalesce(off_contract.off_contract_gbp, 0) <> spend.total_gbp
    or coalesce(portfolio.after_end_gbp, 0) <> coalesce(off_contract.after_end_gbp, 0)
    or coalesce(off_contract.reasons_gbp, 0) <> coalesce(off_contract.off_contract_gbp, 0)
