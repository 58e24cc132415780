{#- Every saving in one place, one row per saving with its method written on the row:
    - competed_award (notices; cashable): a competed procurement's first published estimate (tender value)
      less what it was awarded for (sum of its awards); procurement method open or selective only.
    - repeat_purchase_price (spend; indicative, not cashable): the same supplier paid for the same ProClass
      level-2 category in two consecutive fiscal years, at least 6 payments in each: (last year's average
      payment - this year's) x this year's payments. Payment files carry no quantities, so an average
      payment stands in for a unit price.
    - avoided_ended_contract (contract register / notices; not cashable): a contract that ended with no
      payment to its supplier since and no contract in its procurement category starting within 92 days:
      the 12 months' spend before it ended.
    - recorded (seed savings_recorded): what an officer recorded, with its own type. -#}
with

awards as (

    select * from {{ ref('int_notice_awards_council_keyed') }}

),

releases as (

    select * from {{ ref('stg_contracts_finder__releases') }}

),

portfolio as (

    select * from {{ ref('fct_contract_portfolio') }}

),

spend as (

    select * from {{ ref('fct_spend') }}

),

councils as (

    select * from {{ ref('stg_council__councils') }}

),

recorded as (

    select * from {{ ref('savings_recorded') }}

),

suppliers as (

    select * from {{ ref('dim_supplier') }}

),

first_estimate as (

    select
        ocid,
        tender_value_gbp,
        row_number() over (partition by ocid order by released_at asc, release_key asc) as rank_in_ocid
    from releases
    where tender_value_gbp is not null

),

award_values as (

    -- one value per award: an award let to several suppliers repeats its value on each supplier's row
    select
        council_id,
        ocid,
        award_id,
        max(value_gbp) as value_gbp,
        max(award_date) as award_date,
        min(supplier_id) as supplier_id,
        min(supplier_name) as supplier_name,
        max(title) as title,
        count(*) as supplier_count
    from awards
    where
        value_gbp is not null
        and lower(coalesce(procurement_method, '')) in ('open', 'selective')
        and lower(coalesce(status, 'active')) not in ('cancelled', 'unsuccessful')
    group by council_id, ocid, award_id

),

competed as (

    select
        award_values.council_id,
        award_values.ocid,
        max(award_values.award_date) as savings_date,
        case when count(*) = 1 then min(award_values.supplier_id) end as supplier_id,
        case when count(*) = 1 then min(award_values.supplier_name) end as supplier_name,
        max(award_values.title) as title,
        max(first_estimate.tender_value_gbp) as baseline_gbp,
        sum(award_values.value_gbp) as actual_gbp
    from award_values
    inner join first_estimate on award_values.ocid = first_estimate.ocid and first_estimate.rank_in_ocid = 1
    group by award_values.council_id, award_values.ocid

),

competed_contract as (

    select
        council_id,
        ocid,
        min(contract_id) as contract_id,
        min(contract_ref) as contract_ref,
        min(procurement_category) as procurement_category
    from portfolio
    where ocid is not null
    group by council_id, ocid

),

competed_lines as (

    select
        'competed_award' as savings_type,
        true as is_cashable,
        competed.council_id,
        cast(competed.savings_date as date) as savings_date,
        cast(null as varchar) as fiscal_year,
        competed_contract.contract_id,
        competed_contract.contract_ref,
        competed.ocid,
        competed.supplier_id,
        competed.supplier_name,
        competed_contract.procurement_category as category,
        competed.baseline_gbp,
        competed.actual_gbp,
        competed.baseline_gbp - competed.actual_gbp as savings_gbp,
        'First published estimate (tender value) less the value awarded, competed procurement ('
        || competed.title || ')' as method
    from competed
    left join competed_contract
        on competed.council_id = competed_contract.council_id and competed.ocid = competed_contract.ocid

),

yearly_purchases as (

    select
        council_id,
        fiscal_year,
        cast(substr(fiscal_year, 1, 4) as integer) as fiscal_year_start,
        supplier_id,
        category_l1,
        category_l2,
        count(*) as payment_count,
        avg(amount_gbp) as average_payment_gbp,
        max(payment_date) as last_payment_date
    from spend
    where
        not is_credit
        and not coalesce(is_redacted, false)
        and supplier_id not in {{ placeholder_supplier_ids() }}
        and category_l2 is not null
        and category_l2 <> 'Unclassified'
    group by council_id, fiscal_year, supplier_id, category_l1, category_l2

),

repeat_lines as (

    select
        'repeat_purchase_price' as savings_type,
        false as is_cashable,
        this_year.council_id,
        this_year.last_payment_date as savings_date,
        this_year.fiscal_year,
        cast(null as varchar) as contract_id,
        cast(null as varchar) as contract_ref,
        cast(null as varchar) as ocid,
        this_year.supplier_id,
        cast(null as varchar) as supplier_name,
        this_year.category_l2 as category,
        last_year.average_payment_gbp * this_year.payment_count as baseline_gbp,
        this_year.average_payment_gbp * this_year.payment_count as actual_gbp,
        (last_year.average_payment_gbp - this_year.average_payment_gbp) * this_year.payment_count as savings_gbp,
        'Average payment to the supplier for this category in ' || last_year.fiscal_year || ' vs '
        || this_year.fiscal_year || ', x ' || cast(this_year.payment_count as varchar)
        || ' payments (indicative: no quantities in the payment data)' as method
    from yearly_purchases as this_year
    inner join yearly_purchases as last_year
        on
            this_year.council_id = last_year.council_id
            and this_year.supplier_id = last_year.supplier_id
            and this_year.category_l2 = last_year.category_l2
            and this_year.category_l1 = last_year.category_l1
            and this_year.fiscal_year_start = last_year.fiscal_year_start + 1
    where this_year.payment_count >= 6 and last_year.payment_count >= 6

),

ended as (

    select ended_contract.*
    from portfolio as ended_contract
    where
        ended_contract.end_date is not null
        and ended_contract.end_date < ended_contract.as_at_date
        -- no payment at all to the supplier since the end (under this contract or any other): the
        -- contract attribution's spend_after_end_gbp counts only uncovered payments, so it cannot say this
        and not exists (
            select 1
            from spend as later_payment
            where
                later_payment.council_id = ended_contract.council_id
                and later_payment.supplier_id = ended_contract.supplier_id
                and later_payment.payment_date > ended_contract.end_date
        )
        and not exists (
            select 1
            from portfolio as successor
            where
                successor.council_id = ended_contract.council_id
                and successor.contract_id <> ended_contract.contract_id
                and successor.procurement_category = ended_contract.procurement_category
                and successor.start_date > {{ dbt.dateadd('day', -31, 'ended_contract.end_date') }}
                and successor.start_date <= {{ dbt.dateadd('day', 92, 'ended_contract.end_date') }}
        )

),

ended_run_rate as (

    select
        ended.contract_id,
        sum(spend.amount_gbp) as last_year_spend_gbp
    from ended
    inner join spend
        on
            ended.council_id = spend.council_id
            and ended.supplier_id = spend.supplier_id
            and spend.payment_date > {{ dbt.dateadd('day', -365, 'ended.end_date') }}
            and ended.end_date >= spend.payment_date
    group by ended.contract_id

),

avoided_lines as (

    select
        'avoided_ended_contract' as savings_type,
        false as is_cashable,
        ended.council_id,
        cast(ended.end_date as date) as savings_date,
        cast(null as varchar) as fiscal_year,
        ended.contract_id,
        ended.contract_ref,
        ended.ocid,
        ended.supplier_id,
        ended.supplier_name,
        ended.procurement_category as category,
        ended_run_rate.last_year_spend_gbp as baseline_gbp,
        cast(0 as decimal(18, 2)) as actual_gbp,
        ended_run_rate.last_year_spend_gbp as savings_gbp,
        'Contract ended ' || cast(ended.end_date as varchar)
        || ' with no payment to the supplier since and no replacement in its category:'
        || ' the 12 months'' spend before the end' as method
    from ended
    inner join ended_run_rate on ended.contract_id = ended_run_rate.contract_id
    where ended_run_rate.last_year_spend_gbp > 0

),

recorded_lines as (

    select
        'recorded_' || recorded.savings_type as savings_type,
        recorded.savings_type = 'cashable' as is_cashable,
        recorded.council_id,
        cast(null as date) as savings_date,
        recorded.fiscal_year,
        recorded_contract.contract_id,
        recorded.contract_ref,
        recorded_contract.ocid,
        recorded_contract.supplier_id,
        recorded.supplier_name,
        recorded_contract.procurement_category as category,
        cast(null as decimal(18, 2)) as baseline_gbp,
        cast(null as decimal(18, 2)) as actual_gbp,
        recorded.amount_gbp as savings_gbp,
        'Recorded by ' || recorded.recorded_by || ' (' || recorded.savings_ref || '): ' || recorded.description
            as method
    from recorded
    left join portfolio as recorded_contract
        on
            recorded.council_id = recorded_contract.council_id
            and recorded.contract_ref = recorded_contract.contract_ref
            and recorded_contract.contract_source = 'register'

),

unioned as (

    select * from competed_lines
    union all
    select * from repeat_lines
    union all
    select * from avoided_lines
    union all
    select * from recorded_lines

),

final as (

    select
        md5(
            unioned.savings_type || '|' || unioned.council_id
            || '|' || coalesce(unioned.contract_id, '') || '|' || coalesce(unioned.ocid, '')
            || '|' || coalesce(unioned.supplier_id, '') || '|' || coalesce(unioned.category, '')
            || '|' || coalesce(unioned.fiscal_year, '') || '|' || unioned.method
        ) as savings_id,
        unioned.council_id,
        coalesce(
            unioned.fiscal_year,
            {{ fiscal_year('unioned.savings_date', 'councils.fiscal_year_start_month') }}
        ) as fiscal_year,
        unioned.savings_type,
        unioned.is_cashable,
        unioned.savings_date,
        unioned.contract_id,
        unioned.contract_ref,
        unioned.ocid,
        unioned.supplier_id,
        coalesce(unioned.supplier_name, suppliers.canonical_name) as supplier_name,
        unioned.category,
        cast(unioned.baseline_gbp as decimal(18, 2)) as baseline_gbp,
        cast(unioned.actual_gbp as decimal(18, 2)) as actual_gbp,
        cast(unioned.savings_gbp as decimal(18, 2)) as savings_gbp,
        unioned.method
    from unioned
    inner join councils on unioned.council_id = councils.council_id
    left join suppliers on unioned.supplier_id = suppliers.supplier_id

)

select * from final
