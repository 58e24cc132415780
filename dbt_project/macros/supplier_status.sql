{#- Status evidence a supplier's own name or registration number gives, when no source states it.
    One place for these rules; dim_supplier applies them after the analyst overrides, the contract
    register, Contracts Finder / FTS flags and charity numbers. -#}

{#- A public body (another council, the NHS, the police, HMRC, a university, a government department):
    neither an SME nor a VCSE. Names of voluntary bodies that mention a council are left alone. -#}
{% macro is_public_body_name(name) -%}
(
    upper({{ name }}) not like '%VOLUNTARY%'
    and (
        upper({{ name }}) like '% COUNCIL'
        or upper({{ name }}) like 'NHS %'
        or upper({{ name }}) like '% NHS %'
        or upper({{ name }}) like '% NHS'
        or upper({{ name }}) like '%CONSTABULARY%'
        or upper({{ name }}) like '%POLICE AND CRIME COMMISSIONER%'
        or upper({{ name }}) like '%FIRE AND RESCUE%'
        or upper({{ name }}) like 'HM REVENUE%'
        or upper({{ name }}) like 'HMRC%'
        or upper({{ name }}) like 'UNIVERSITY OF %'
        or upper({{ name }}) like 'DEPARTMENT FOR %'
        or upper({{ name }}) like 'MINISTRY OF %'
    )
)
{%- endmacro %}

{#- A community interest company by its name (CIC, C.I.C., Community Interest Company): a VCSE. -#}
{% macro is_cic_name(name) -%}
(
    ' ' || upper({{ name }}) || ' ' like '% CIC %'
    or ' ' || upper({{ name }}) || ' ' like '% C.I.C. %'
    or ' ' || upper({{ name }}) || ' ' like '% C.I.C %'
    or upper({{ name }}) like '%COMMUNITY INTEREST COMPANY%'
)
{%- endmacro %}

{#- A charitable incorporated organisation by its Companies House number (CE / CS prefix): a VCSE. -#}
{% macro is_cio_number(company_number) -%}
(upper(trim({{ company_number }})) like 'CE%' or upper(trim({{ company_number }})) like 'CS%')
{%- endmacro %}

{#- True when a postcode district is in a council's local districts or areas (a comma-separated list, as
    stg_council__councils.local_postcode_prefixes); null when either is unknown. -#}
{% macro is_local_postcode(district, prefixes) -%}
case
    when {{ district }} is null or coalesce({{ prefixes }}, '') = '' then null
    when
        ',' || {{ prefixes }} || ',' like '%,' || {{ district }} || ',%'
        or ',' || {{ prefixes }} || ',' like '%,' || {{ postcode_area(district) }} || ',%'
        then true
    else false
end
{%- endmacro %}
