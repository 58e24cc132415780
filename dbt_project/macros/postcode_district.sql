{#- Outward code (district) of a UK postcode, e.g. 'nr2 1nh' -> 'NR2'. Works when the
    space is missing too, since the inward code is always digit + two letters. -#}
{% macro postcode_district(column) -%}
nullif(
    regexp_replace(upper(replace({{ column }}, ' ', '')), '^([A-Z]{1,2}[0-9][0-9A-Z]?)[0-9][A-Z]{2}$', '\1'),
    ''
)
{%- endmacro %}

{#- Postcode area: the leading letters, e.g. 'NR2' -> 'NR'. -#}
{% macro postcode_area(district) -%}
regexp_replace({{ district }}, '[0-9].*$', '')
{%- endmacro %}

{#- A UK postcode written anywhere inside free text (a street address, a raw record),
    upper-cased with one space before the inward code: 'City Hall, Norwich nr21nh' -> 'NR2 1NH'. -#}
{% macro extract_postcode(column) -%}
{%- set found = regex_capture(
    "upper(" ~ column ~ ")",
    "(?:^|[^A-Z0-9])([A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2})(?:[^A-Z0-9]|$)"
) -%}
{%- set compact = "replace(" ~ found ~ ", ' ', '')" -%}
left({{ compact }}, length({{ compact }}) - 3) || ' ' || right({{ compact }}, 3)
{%- endmacro %}
