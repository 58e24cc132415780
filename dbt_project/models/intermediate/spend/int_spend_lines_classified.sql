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
    Re-run on every build, so a new rule reclassifies history. -#}
with

lines as (

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

keyed as (

    select
        lines.*,
        case
            when lines.is_redacted then 'redacted'
            when lines.supplier_name is null then 'unknown'
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
        keyed.spend_line_id,
        overrides.category_l1,
        overrides.category_l2,
        row_number() over (
            partition by keyed.spend_line_id
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
    from keyed
    inner join overrides
        on
            (overrides.council_id is null or keyed.council_id = overrides.council_id)
            and (overrides.supplier_name is null or keyed.supplier_name = overrides.supplier_name)
            and (overrides.expense_type is null or keyed.expense_type = overrides.expense_type)
            and (overrides.supplier_name is not null or overrides.expense_type is not null)

),

rule_hits as (

    select
        keyed.spend_line_id,
        rules.rule_id,
        rules.match_field,
        rules.category_l1,
        rules.category_l2,
        row_number() over (
            partition by keyed.spend_line_id
            order by case rules.match_field when 'expense_type' then 1 else 2 end, rules.priority, rules.rule_id
        ) as rank_in_line
    from keyed
    inner join rules
        on
            (rules.match_field = 'expense_type' and upper(trim(keyed.expense_type)) like upper(rules.pattern))
            or (rules.match_field = 'description' and upper(trim(keyed.description)) like upper(rules.pattern))

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
    where coded_l1 is not null and supplier_id not in ('redacted', 'unknown')
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
        keyed.*,
        coalesce(
            override_hits.category_l1,
            keyed.coded_l1,
            rule_hits.category_l1,
            supplier_history.coded_l1,
            contract_category.level1,
            'Unclassified'
        ) as category_l1,
        coalesce(
            override_hits.category_l2,
            keyed.coded_l2,
            rule_hits.category_l2,
            supplier_history.coded_l2,
            case when contract_category.level1 is not null then 'Not Elsewhere Classified' end,
            'Unclassified'
        ) as category_l2,
        case
            when override_hits.category_l1 is not null then 'override'
            when keyed.coded_rule is not null then keyed.coded_rule
            when rule_hits.rule_id is not null then rule_hits.match_field || '_rule'
            when supplier_history.coded_l1 is not null then 'supplier_history'
            when contract_category.level1 is not null then 'contract_category'
            else 'none'
        end as classification_rule,
        case
            when override_hits.category_l1 is null and keyed.coded_rule is null then rule_hits.rule_id
        end as classification_rule_id
    from keyed
    left join override_hits
        on keyed.spend_line_id = override_hits.spend_line_id and override_hits.rank_in_line = 1
    left join rule_hits
        on keyed.spend_line_id = rule_hits.spend_line_id and rule_hits.rank_in_line = 1
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
