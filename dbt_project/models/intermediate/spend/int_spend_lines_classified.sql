{#- Every payment line with its resolved supplier and ProClass category, recording which
    rule classified it: the line's ProClass code, its ProClass label, the supplier's usual
    category, or none (Unclassified). Re-run on every build, so a new rule reclassifies history. -#}
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

    select
        upper(coalesce(level2, level1)) as label_key,
        min(level1) as level1,
        min(level2) as level2
    from proclass
    group by 1

),

keyed as (

    select
        lines.*,
        case
            when lines.is_redacted then 'redacted'
            when lines.supplier_name is null then 'unknown'
            else suppliers.supplier_id
        end as supplier_id,
        coalesce(by_code.level1, by_label.level1) as coded_l1,
        coalesce(by_code.level2, by_label.level2) as coded_l2,
        case
            when by_code.level1 is not null then 'proclass_code'
            when by_label.level1 is not null then 'proclass_label'
        end as coded_rule
    from lines
    left join suppliers
        on {{ normalise_name('lines.supplier_name') }} = suppliers.name_key
    left join proclass as by_code
        on trim(lines.proclass_code) = by_code.code
    left join labels as by_label
        on upper(trim(lines.proclass_label)) = by_label.label_key

),

supplier_default as (

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

classified as (

    select
        keyed.*,
        coalesce(keyed.coded_l1, supplier_default.coded_l1, 'Unclassified') as category_l1,
        coalesce(keyed.coded_l2, supplier_default.coded_l2, 'Unclassified') as category_l2,
        coalesce(
            keyed.coded_rule,
            case when supplier_default.coded_l1 is not null then 'supplier_default' end,
            'none'
        ) as classification_rule
    from keyed
    left join supplier_default
        on
            keyed.supplier_id = supplier_default.supplier_id
            and supplier_default.rank_in_supplier = 1

)

select * from classified
