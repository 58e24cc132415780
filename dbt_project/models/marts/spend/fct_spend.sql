{#- One row per payment line: the grain every spend figure in the board pack sums from. -#}
with

lines as (

    select * from {{ ref('int_spend_lines_classified') }}

),

suppliers as (

    select * from {{ ref('dim_supplier') }}

),

councils as (

    select * from {{ ref('stg_council__councils') }}

),

contracts as (

    select * from {{ ref('int_contracts_supplier_keyed') }}

),

contract_match as (

    select
        lines.spend_line_id,
        contracts.contract_id,
        row_number() over (
            partition by lines.spend_line_id
            order by contracts.end_date desc, contracts.contract_id asc
        ) as rank_in_line
    from lines
    inner join contracts
        on
            lines.council_id = contracts.council_id
            and lines.supplier_id = contracts.supplier_id
            and lines.payment_date >= contracts.start_date
            and lines.payment_date <= coalesce(contracts.end_date, lines.payment_date)

),

final as (

    select
        lines.spend_line_id,
        lines.council_id,
        lines.payment_date,
        {{ fiscal_year('lines.payment_date', 'councils.fiscal_year_start_month') }} as fiscal_year,
        {{ fiscal_period('lines.payment_date', 'councils.fiscal_year_start_month') }} as fiscal_period,
        cast({{ dbt.date_trunc('month', 'lines.payment_date') }} as date) as payment_month,
        lines.service_area,
        lines.expense_type,
        lines.category_l1,
        lines.category_l2,
        lines.classification_rule,
        lines.supplier_id,
        lines.supplier_name as supplier_name_as_paid,
        lines.transaction_number,
        cast(lines.amount_gbp as decimal(18, 2)) as amount_gbp,
        lines.is_credit,
        lines.is_redacted,
        lines.is_pcard,
        suppliers.is_local,
        suppliers.is_sme,
        suppliers.is_vcse,
        contract_match.contract_id,
        contract_match.contract_id is not null as is_on_contract,
        lines.source_file,
        lines.source_line
    from lines
    inner join councils on lines.council_id = councils.council_id
    left join suppliers on lines.supplier_id = suppliers.supplier_id
    left join contract_match
        on lines.spend_line_id = contract_match.spend_line_id and contract_match.rank_in_line = 1

)

select * from final
