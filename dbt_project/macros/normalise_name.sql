{#- Supplier name as a matching key: upper case, '&' -> AND, punctuation dropped,
    legal suffixes unified (LIMITED -> LTD, PUBLIC LIMITED COMPANY -> PLC),
    whitespace collapsed. Portable: only upper/replace/regexp_replace/trim. -#}
{% macro normalise_name(column) -%}
trim(
    regexp_replace(
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    replace(upper({{ column }}), '&', ' AND '),
                    '[^A-Z0-9 ]', ' ', 'g'
                ),
                '\s(LIMITED|LTD)(\s|$)', ' LTD ', 'g'
            ),
            '\s(PUBLIC LIMITED COMPANY)(\s|$)', ' PLC ', 'g'
        ),
        '\s+', ' ', 'g'
    )
)
{%- endmacro %}
