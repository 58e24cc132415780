{#- One row per payment line: the grain every spend figure in the board pack sums from.

    Incremental by source file (delete+insert on council_id + source_file): a run rebuilds only the files
    whose build_fingerprint changed - a new or replaced file (its SHA-256, its lines' amounts and dates), or
    a change in what its lines are built from (resolved supplier, category, supplier flags, contracts,
    fiscal calendar) - so a new month does not rebuild history, a replaced month is rebuilt whole, and a
    second run changes nothing.
    The post-hook (macro delete_files_no_longer_loaded) removes files that are no longer loaded. Same SQL
    on DuckDB and PostgreSQL. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['council_id', 'source_file'],
        on_schema_change='append_new_columns',
        post_hook="{{ delete_files_no_longer_loaded(this, ref('int_spend_lines_classified')) }}"
    )
}}

with

-- not materialized (here and in changed_lines): each reader streams the columns it needs; materialized, the
-- lines were copied whole before the fingerprint and the joins (about a quarter of the model at 3 M lines)
lines as not materialized (

    select * from {{ ref('int_spend_lines_classified') }}

),

files as (

    select * from {{ ref('stg_finance__spend_files') }}

),

suppliers as (

    select * from {{ ref('dim_supplier') }}

),

councils as (

    select * from {{ ref('stg_council__councils') }}

),

contracts as (

    select * from {{ ref('int_contracts_unioned') }}

),

reference_fingerprint as materialized (

    -- everything outside the file that a line's columns depend on (macros in build_fingerprint.sql)
    select
        md5(
            {{ table_fingerprint(
                'suppliers',
                ['supplier_id', 'postcode_district', 'is_local_override', 'is_sme', 'is_vcse'],
                order_by='supplier_id'
            ) }}
            || '#' || {{ table_fingerprint(
                'contracts',
                ['contract_id', 'council_id', 'supplier_id', 'start_date', 'end_date', 'procurement_category',
                 'service_area'],
                order_by='contract_id'
            ) }}
            || '#' || {{ table_fingerprint(
                'councils',
                ['council_id', 'fiscal_year_start_month', 'local_postcode_prefixes'],
                order_by='council_id'
            ) }}
        ) as fingerprint

),

-- materialized: computed once per file, not re-evaluated per line after the joins below
-- (inlined, it cost rows x file size: ~90% of the dbt build). Valid on DuckDB and PostgreSQL 12+.
file_fingerprint as materialized (

    -- the file's content (its SHA-256 and its lines' built columns) and the reference fingerprint
    select
        lines.council_id,
        lines.source_file,
        md5(
            max(coalesce(files.file_sha256, ''))
            || '#' || max(reference_fingerprint.fingerprint)
            -- one md5 per line, so the ordered aggregate sorts 32 characters a line, not the whole line
            || '#' || string_agg(
                md5({{ fingerprint_fields(
                    ['lines.spend_line_id', 'lines.amount_gbp', 'lines.payment_date', 'lines.date_precision',
                     'lines.field_warnings', 'lines.supplier_id', 'lines.category_l1', 'lines.category_l2',
                     'lines.classification_rule'],
                    null_as=''
                ) }}),
                ',' order by lines.spend_line_id
            )
        ) as build_fingerprint
    from lines
    cross join reference_fingerprint
    left join files on lines.council_id = files.council_id and lines.source_file = files.source_file
    group by lines.council_id, lines.source_file

),

changed_files as (

    select file_fingerprint.*
    from file_fingerprint
    {% if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as built
            where
                built.council_id = file_fingerprint.council_id
                and built.source_file = file_fingerprint.source_file
                and built.build_fingerprint = file_fingerprint.build_fingerprint
        )
    {% endif %}

),

changed_lines as not materialized (

    select
        lines.*,
        changed_files.build_fingerprint
    from lines
    inner join changed_files
        on lines.council_id = changed_files.council_id and lines.source_file = changed_files.source_file

),

contract_match as (

    {#- Each payment goes to at most one of the supplier's contracts. A contract live on the payment date
        first (no start date: no lower bound; no end date: open-ended); among several live ones, the one whose
        register category is the line's ProClass level 1, then the one of the line's service area, then the
        one ending last. Only a payment no live contract covers is off contract: after the end of the
        supplier's contract that ended last before it, or else before the start of the one starting next. -#}
    select
        changed_lines.spend_line_id,
        contracts.contract_id,
        case
            when
                changed_lines.payment_date >= coalesce(contracts.start_date, changed_lines.payment_date)
                and changed_lines.payment_date <= coalesce(contracts.end_date, changed_lines.payment_date)
                then 'on_contract'
            when changed_lines.payment_date > contracts.end_date then 'after_contract_end'
            else 'before_contract_start'
        end as contract_attribution,
        row_number() over (
            partition by changed_lines.spend_line_id
            order by
                case
                    when
                        changed_lines.payment_date >= coalesce(contracts.start_date, changed_lines.payment_date)
                        and changed_lines.payment_date <= coalesce(contracts.end_date, changed_lines.payment_date)
                        then 1
                    when changed_lines.payment_date > contracts.end_date then 2
                    else 3
                end,
                case
                    when upper(trim(contracts.procurement_category)) = upper(changed_lines.category_l1) then 1 else 2
                end,
                case
                    when upper(trim(contracts.service_area)) = upper(trim(changed_lines.service_area)) then 1 else 2
                end,
                case
                    when changed_lines.payment_date > contracts.end_date then contracts.end_date
                end desc nulls last,
                case
                    when changed_lines.payment_date < contracts.start_date then contracts.start_date
                end asc nulls last,
                contracts.end_date desc nulls first,
                contracts.contract_id asc
        ) as rank_in_line
    from changed_lines
    inner join contracts
        on
            changed_lines.council_id = contracts.council_id
            and changed_lines.supplier_id = contracts.supplier_id

),

final as (

    select
        changed_lines.spend_line_id,
        changed_lines.council_id,
        changed_lines.payment_date,
        changed_lines.date_precision,
        {{ fiscal_year('changed_lines.payment_date', 'councils.fiscal_year_start_month') }} as fiscal_year,
        {{ fiscal_period('changed_lines.payment_date', 'councils.fiscal_year_start_month') }} as fiscal_period,
        cast({{ dbt.date_trunc('month', 'changed_lines.payment_date') }} as date) as payment_month,
        changed_lines.service_area,
        changed_lines.expense_type,
        changed_lines.category_l1,
        changed_lines.category_l2,
        changed_lines.classification_rule,
        changed_lines.supplier_id,
        changed_lines.supplier_name as supplier_name_as_paid,
        changed_lines.transaction_number,
        cast(changed_lines.amount_gbp as decimal(18, 2)) as amount_gbp,
        changed_lines.is_credit,
        changed_lines.is_redacted,
        changed_lines.is_pcard,
        changed_lines.field_warnings,
        -- local to the council that paid: the supplier's postcode district against this council's districts
        coalesce(
            suppliers.is_local_override,
            {{ is_local_postcode('suppliers.postcode_district', 'councils.local_postcode_prefixes') }}
        ) as is_local,
        suppliers.is_sme,
        suppliers.is_vcse,
        case when contract_match.contract_attribution = 'on_contract' then contract_match.contract_id end
            as contract_id,
        coalesce(contract_match.contract_attribution = 'on_contract', false) as is_on_contract,
        coalesce(contract_match.contract_attribution, 'no_contract') as contract_attribution,
        case when contract_match.contract_attribution <> 'on_contract' then contract_match.contract_id end
            as outside_contract_id,
        changed_lines.source_file,
        changed_lines.source_line,
        changed_lines.build_fingerprint
    from changed_lines
    inner join councils on changed_lines.council_id = councils.council_id
    left join suppliers on changed_lines.supplier_id = suppliers.supplier_id
    left join contract_match
        on changed_lines.spend_line_id = contract_match.spend_line_id and contract_match.rank_in_line = 1

)

select * from final
