{#- Every payment line with its resolved supplier and ProClass level 1-2 category, recording
    which rule classified it. Rules, first that applies wins:
      override          classification_overrides seed (analyst decision)
      proclass_code     the line's ProClass code
      proclass_label    the line's ProClass label: a level name, or a path 'Level 1 > Level 2 > ...'
      expense_type_rule classification_rules seed matched on the expense type
      description_rule  classification_rules seed matched on the description
      supplier_history  the supplier's most frequent category on lines its publisher coded
      contract_category the category (a ProClass level 1 name) of the supplier's register contracts
      none              Unclassified
    Re-run on every build, so a new rule reclassifies history.
    Only the columns fct_spend and dim_supplier read are kept (the published detail stays in raw.spend_lines):
    at 10 M lines, writing the whole staging row cost more than classifying it. -#}
with

-- not materialized (here and in keyed): each reader streams the lines it needs; materialized, the whole
-- wide table was held (and spilled) at 10 M lines. Valid on DuckDB and PostgreSQL 12+.
lines as not materialized (

    select * from {{ ref('stg_finance__spend_lines') }}

),

suppliers as (

    select * from {{ ref('int_suppliers_resolved') }}

),

proclass as (

    select
        code,
        level1,
        nullif(level2, '') as level2
    from {{ ref('proclass') }}

),

labels as (

    {#- a label naming one level: level 2 names map to their level 1; a level 1 name has no level 2 -#}
    select
        upper(coalesce(level2, level1)) as label_key,
        min(level1) as level1,
        min(level2) as level2
    from proclass
    group by 1

),

label_paths as (

    select distinct
        upper(level1) as level1_key,
        upper(level2) as level2_key,
        level1,
        level2
    from proclass
    where level2 is not null

),

rules as (

    select * from {{ ref('classification_rules') }}

),

overrides as (

    select * from {{ ref('classification_overrides') }}

),

keyed as not materialized (

    select
        lines.*,
        case
            when lines.is_redacted then {{ redacted_supplier_id() }}
            when lines.supplier_name is null then {{ unknown_supplier_id() }}
            else suppliers.supplier_id
        end as supplier_id,
        coalesce(by_code.level1, by_path.level1, by_label.level1) as coded_l1,
        coalesce(by_code.level2, by_path.level2, by_label.level2) as coded_l2,
        case
            when by_code.level1 is not null then 'proclass_code'
            when by_path.level1 is not null or by_label.level1 is not null then 'proclass_label'
        end as coded_rule
    from lines
    left join suppliers
        on lines.supplier_name = suppliers.supplier_name
    left join proclass as by_code
        on trim(lines.proclass_code) = by_code.code
    left join label_paths as by_path
        on
            upper(trim(split_part(lines.proclass_label, '>', 1))) = by_path.level1_key
            and upper(trim(split_part(lines.proclass_label, '>', 2))) = by_path.level2_key
    left join labels as by_label
        on upper(trim(lines.proclass_label)) = by_label.label_key

),

override_hits as (

    select
        lines.spend_line_id,
        overrides.category_l1,
        overrides.category_l2,
        row_number() over (
            partition by lines.spend_line_id
            order by
                case
                    when overrides.supplier_name is not null and overrides.expense_type is not null then 1
                    when overrides.supplier_name is not null then 2
                    else 3
                end,
                case when overrides.council_id is not null then 1 else 2 end,
                overrides.category_l1,
                overrides.category_l2
        ) as rank_in_line
    from lines
    inner join overrides
        on
            (overrides.council_id is null or lines.council_id = overrides.council_id)
            and (overrides.supplier_name is null or lines.supplier_name = overrides.supplier_name)
            and (overrides.expense_type is null or lines.expense_type = overrides.expense_type)
            and (overrides.supplier_name is not null or overrides.expense_type is not null)

),

rule_values as (

    {#- keyword rules are matched once per distinct published value, not once per line: a line takes
        the hit of its value (an equality join), so the LIKE join is values x rules, not lines x rules -#}
    select distinct
        'expense_type' as match_field,
        upper(trim(expense_type)) as match_value
    from lines
    where expense_type is not null
    union all
    select distinct
        'description' as match_field,
        upper(trim(description)) as match_value
    from lines
    where description is not null

),

rule_hits as (

    select
        rule_values.match_field,
        rule_values.match_value,
        rules.rule_id,
        rules.category_l1,
        rules.category_l2,
        row_number() over (
            partition by rule_values.match_field, rule_values.match_value
            order by rules.priority, rules.rule_id
        ) as rank_in_value
    from rule_values
    inner join rules
        on
            rule_values.match_field = rules.match_field
            and rule_values.match_value like upper(rules.pattern)

),

supplier_history as (

    select
        supplier_id,
        coded_l1,
        coded_l2,
        row_number() over (
            partition by supplier_id
            order by count(*) desc, coded_l1 asc, coded_l2 asc
        ) as rank_in_supplier
    from keyed
    where coded_l1 is not null and supplier_id not in {{ placeholder_supplier_ids() }}
    group by supplier_id, coded_l1, coded_l2

),

proclass_level1 as (

    select distinct level1
    from proclass

),

contract_category as (

    {#- the register's category of the supplier's contracts, when it is a ProClass level 1 name -#}
    select
        contracts.supplier_id,
        level1.level1,
        row_number() over (
            partition by contracts.supplier_id
            order by count(*) desc, level1.level1 asc
        ) as rank_in_supplier
    from {{ ref('int_contracts_supplier_keyed') }} as contracts
    inner join proclass_level1 as level1
        on upper(trim(contracts.procurement_category)) = upper(level1.level1)
    where contracts.supplier_id is not null
    group by contracts.supplier_id, level1.level1

),

classified as (

    select
        keyed.spend_line_id,
        keyed.council_id,
        keyed.source_file,
        keyed.source_line,
        keyed.transaction_number,
        keyed.service_area,
        keyed.expense_type,
        keyed.supplier_name,
        keyed.amount_gbp,
        keyed.is_redacted,
        keyed.is_credit,
        keyed.is_pcard,
        keyed.payment_date,
        keyed.date_precision,
        keyed.field_warnings,
        keyed.supplier_id,
        {#- an expense-type rule beats a description rule -#}
        coalesce(
            override_hits.category_l1,
            keyed.coded_l1,
            case
                when expense_hits.rule_id is not null then expense_hits.category_l1
                else description_hits.category_l1
            end,
            supplier_history.coded_l1,
            contract_category.level1,
            'Unclassified'
        ) as category_l1,
        coalesce(
            override_hits.category_l2,
            keyed.coded_l2,
            case
                when expense_hits.rule_id is not null then expense_hits.category_l2
                else description_hits.category_l2
            end,
            supplier_history.coded_l2,
            case when contract_category.level1 is not null then 'Not Elsewhere Classified' end,
            'Unclassified'
        ) as category_l2,
        case
            when override_hits.category_l1 is not null then 'override'
            when keyed.coded_rule is not null then keyed.coded_rule
            when expense_hits.rule_id is not null then 'expense_type_rule'
            when description_hits.rule_id is not null then 'description_rule'
            when supplier_history.coded_l1 is not null then 'supplier_history'
            when contract_category.level1 is not null then 'contract_category'
            else 'none'
        end as classification_rule,
        case
            when override_hits.category_l1 is null and keyed.coded_rule is null
                then coalesce(expense_hits.rule_id, description_hits.rule_id)
        end as classification_rule_id
    from keyed
    left join override_hits
        on keyed.spend_line_id = override_hits.spend_line_id and override_hits.rank_in_line = 1
    left join rule_hits as expense_hits
        on
            expense_hits.match_field = 'expense_type'
            and upper(trim(keyed.expense_type)) = expense_hits.match_value
            and expense_hits.rank_in_value = 1
    left join rule_hits as description_hits
        on
            description_hits.match_field = 'description'
            and upper(trim(keyed.description)) = description_hits.match_value
            and description_hits.rank_in_value = 1
    left join supplier_history
        on
            keyed.supplier_id = supplier_history.supplier_id
            and supplier_history.rank_in_supplier = 1
    left join contract_category
        on
            keyed.supplier_id = contract_category.supplier_id
            and contract_category.rank_in_supplier = 1

)

select * from classified
