{#- The board's figures per council and month, one row each: spend, lines, suppliers paid, credits,
    redacted and p-card spend, and the on-contract, local, SME, VCSE and classified shares with their
    coverage (summed in int_spend_months_summed); each share with its target (seed kpi_targets) and a RAG
    status (macro rag_status: green meets the target, amber within the seed's tolerance, red beyond it,
    null when the KPI is unknown). The local, SME and VCSE shares are measured on the spend whose status
    is known: below var('share_coverage_floor') of gross spend known, they get no RAG.

    Expiring contracts are counted as at the end of the month from mart_contract_expiry: contracts
    (register and CF/FTS) that have started and end within the next 6 / 12 months. New awards are CF/FTS
    awards of the council dated in the month. Rows quarantined are those the spend reader rejected from
    the month's files. -#}
with

monthly as (

    select * from {{ ref('int_spend_months_summed') }}

),

expiry as (

    select * from {{ ref('mart_contract_expiry') }}

),

awards as (

    select * from {{ ref('int_notice_awards_council_keyed') }}

),

quarantine as (

    select * from {{ ref('int_spend_files_quarantine_counted') }}

),

kpi_targets as (

    select * from {{ ref('kpi_targets') }}

),

expiring as (

    -- counted from the rows the board pack lists (mart_contract_expiry), so the two agree
    select
        council_id,
        month,
        sum(case when expiry_band = '0-6 months' then 1 else 0 end) as contracts_expiring_6m,
        sum(case when expiry_band = '0-6 months' then contract_value_gbp else 0 end) as value_expiring_6m_gbp,
        sum(case when expiry_band <> 'lapsed' then 1 else 0 end) as contracts_expiring_12m,
        sum(case when expiry_band <> 'lapsed' then contract_value_gbp else 0 end) as value_expiring_12m_gbp
    from expiry
    group by council_id, month

),

new_awards as (

    select
        council_id,
        cast({{ dbt.date_trunc('month', 'award_date') }} as date) as month,
        count(*) as new_award_count,
        sum(value_gbp) as new_award_value_gbp
    from awards
    where award_date is not null
    group by council_id, cast({{ dbt.date_trunc('month', 'award_date') }} as date)

),

quarantined as (

    select
        council_id,
        month,
        sum(record_count) as record_count,
        sum(quarantined_row_count) as quarantined_row_count
    from quarantine
    where month is not null
    group by council_id, month

),

targets_ranked as (

    -- a council's own target wins over the default ('*')
    select
        councils.council_id,
        kpi_targets.kpi,
        kpi_targets.target,
        kpi_targets.amber_tolerance,
        kpi_targets.direction,
        row_number() over (
            partition by councils.council_id, kpi_targets.kpi
            order by case when kpi_targets.council_id = councils.council_id then 0 else 1 end
        ) as rank_in_kpi
    from (select distinct council_id from monthly) as councils
    inner join kpi_targets on kpi_targets.council_id in (councils.council_id, '*')

),

targets as (

    select
        council_id,
        max(case when kpi = 'local_share' then target end) as local_share_target,
        max(case when kpi = 'local_share' then amber_tolerance end) as local_share_tolerance,
        max(case when kpi = 'local_share' then direction end) as local_share_direction,
        max(case when kpi = 'sme_share' then target end) as sme_share_target,
        max(case when kpi = 'sme_share' then amber_tolerance end) as sme_share_tolerance,
        max(case when kpi = 'sme_share' then direction end) as sme_share_direction,
        max(case when kpi = 'vcse_share' then target end) as vcse_share_target,
        max(case when kpi = 'vcse_share' then amber_tolerance end) as vcse_share_tolerance,
        max(case when kpi = 'vcse_share' then direction end) as vcse_share_direction,
        max(case when kpi = 'on_contract_share' then target end) as on_contract_share_target,
        max(case when kpi = 'on_contract_share' then amber_tolerance end) as on_contract_share_tolerance,
        max(case when kpi = 'on_contract_share' then direction end) as on_contract_share_direction,
        max(case when kpi = 'quarantine_share' then target end) as quarantine_share_target,
        max(case when kpi = 'quarantine_share' then amber_tolerance end) as quarantine_share_tolerance,
        max(case when kpi = 'quarantine_share' then direction end) as quarantine_share_direction,
        max(case when kpi = 'classified_share' then target end) as classified_share_target,
        max(case when kpi = 'classified_share' then amber_tolerance end) as classified_share_tolerance,
        max(case when kpi = 'classified_share' then direction end) as classified_share_direction
    from targets_ranked
    where rank_in_kpi = 1
    group by council_id

),

measured as (

    select
        monthly.council_id,
        monthly.month,
        monthly.fiscal_year,
        monthly.total_spend_gbp,
        monthly.line_count,
        monthly.suppliers_paid,
        monthly.credit_gbp,
        monthly.redacted_spend_gbp,
        monthly.pcard_spend_gbp,
        monthly.local_share,
        monthly.sme_share,
        monthly.vcse_share,
        monthly.local_coverage,
        monthly.sme_coverage,
        monthly.vcse_coverage,
        monthly.local_share_of_all_spend,
        monthly.sme_share_of_all_spend,
        monthly.vcse_share_of_all_spend,
        monthly.on_contract_share,
        monthly.classified_share,
        coalesce(expiring.contracts_expiring_6m, 0) as contracts_expiring_6m,
        coalesce(expiring.value_expiring_6m_gbp, 0) as value_expiring_6m_gbp,
        coalesce(expiring.contracts_expiring_12m, 0) as contracts_expiring_12m,
        coalesce(expiring.value_expiring_12m_gbp, 0) as value_expiring_12m_gbp,
        coalesce(new_awards.new_award_count, 0) as new_award_count,
        coalesce(new_awards.new_award_value_gbp, 0) as new_award_value_gbp,
        coalesce(quarantined.quarantined_row_count, 0) as rows_quarantined,
        cast(
            cast(quarantined.quarantined_row_count as decimal(18, 6)) / nullif(quarantined.record_count, 0)
            as decimal(9, 6)
        ) as quarantine_share
    from monthly
    left join expiring on monthly.council_id = expiring.council_id and monthly.month = expiring.month
    left join new_awards on monthly.council_id = new_awards.council_id and monthly.month = new_awards.month
    left join quarantined on monthly.council_id = quarantined.council_id and monthly.month = quarantined.month

),

final as (

    select
        measured.council_id,
        measured.month,
        measured.fiscal_year,
        cast(measured.total_spend_gbp as decimal(18, 2)) as total_spend_gbp,
        cast(measured.line_count as bigint) as line_count,
        cast(measured.suppliers_paid as bigint) as suppliers_paid,
        cast(measured.credit_gbp as decimal(18, 2)) as credit_gbp,
        cast(measured.redacted_spend_gbp as decimal(18, 2)) as redacted_spend_gbp,
        cast(measured.pcard_spend_gbp as decimal(18, 2)) as pcard_spend_gbp,
        cast(measured.local_share as decimal(9, 6)) as local_share,
        cast(measured.sme_share as decimal(9, 6)) as sme_share,
        cast(measured.vcse_share as decimal(9, 6)) as vcse_share,
        cast(measured.local_coverage as decimal(9, 6)) as local_coverage,
        cast(measured.sme_coverage as decimal(9, 6)) as sme_coverage,
        cast(measured.vcse_coverage as decimal(9, 6)) as vcse_coverage,
        cast(measured.local_share_of_all_spend as decimal(9, 6)) as local_share_of_all_spend,
        cast(measured.sme_share_of_all_spend as decimal(9, 6)) as sme_share_of_all_spend,
        cast(measured.vcse_share_of_all_spend as decimal(9, 6)) as vcse_share_of_all_spend,
        cast({{ var('share_coverage_floor') }} as decimal(9, 4)) as share_coverage_floor,
        cast(measured.on_contract_share as decimal(9, 6)) as on_contract_share,
        cast(measured.classified_share as decimal(9, 6)) as classified_share,
        cast(measured.contracts_expiring_6m as bigint) as contracts_expiring_6m,
        cast(measured.value_expiring_6m_gbp as decimal(18, 2)) as value_expiring_6m_gbp,
        cast(measured.contracts_expiring_12m as bigint) as contracts_expiring_12m,
        cast(measured.value_expiring_12m_gbp as decimal(18, 2)) as value_expiring_12m_gbp,
        cast(measured.new_award_count as bigint) as new_award_count,
        cast(measured.new_award_value_gbp as decimal(18, 2)) as new_award_value_gbp,
        cast(measured.rows_quarantined as bigint) as rows_quarantined,
        cast(measured.quarantine_share as decimal(9, 6)) as quarantine_share,
        cast(targets.local_share_target as decimal(9, 4)) as local_share_target,
        {{ kpi_rag('local_share', coverage='measured.local_coverage') }} as local_share_rag,
        cast(targets.sme_share_target as decimal(9, 4)) as sme_share_target,
        {{ kpi_rag('sme_share', coverage='measured.sme_coverage') }} as sme_share_rag,
        cast(targets.vcse_share_target as decimal(9, 4)) as vcse_share_target,
        {{ kpi_rag('vcse_share', coverage='measured.vcse_coverage') }} as vcse_share_rag,
        cast(targets.on_contract_share_target as decimal(9, 4)) as on_contract_share_target,
        {{ kpi_rag('on_contract_share') }} as on_contract_share_rag,
        cast(targets.quarantine_share_target as decimal(9, 4)) as quarantine_share_target,
        {{ kpi_rag('quarantine_share') }} as quarantine_share_rag,
        cast(targets.classified_share_target as decimal(9, 4)) as classified_share_target,
        {{ kpi_rag('classified_share') }} as classified_share_rag
    from measured
    left join targets on measured.council_id = targets.council_id

)

select * from final
