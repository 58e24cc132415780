{#- fct_spend is rebuilt file by file: a file's lines are rebuilt only when its build fingerprint changes.
    The fingerprint is an md5 over text made from the rows it depends on; these macros make that text.
    Same SQL on DuckDB and PostgreSQL. -#}

{#- One row's `columns` (column names or SQL expressions) as one string: each cast to text, a null
    written as `null_as`, joined by '|'. E.g. ['id', 'flag'] -> id|true, or id|? when flag is null. -#}
{% macro fingerprint_fields(columns, null_as='?') -%}
{%- for column in columns -%}
coalesce(cast({{ column }} as varchar), '{{ null_as }}'){% if not loop.last %} || '|' || {% endif %}
{%- endfor -%}
{%- endmacro %}

{#- Every row of `relation` as fingerprint_fields, joined by ',' in `order_by` order: the whole table as
    one string ('' when it is empty), so any change to those columns changes the string. -#}
{% macro table_fingerprint(relation, columns, order_by) -%}
coalesce((
    select string_agg({{ fingerprint_fields(columns) }}, ',' order by {{ order_by }})
    from {{ relation }}
), '')
{%- endmacro %}

{#- fct_spend's post-hook: incremental delete+insert replaces the files that are still loaded, so the
    lines of a file that is no longer loaded (none of its lines left in `lines`) are deleted here. -#}
{% macro delete_files_no_longer_loaded(this_relation, lines) -%}
{#- the files in the model that are no longer loaded, as a set difference (hashed on both targets; usually
    empty): a NOT IN over the loaded files made PostgreSQL test each of 9.9 M rows against the list -#}
delete from {{ this_relation }}
where council_id || '|' || source_file in (
    select council_id || '|' || source_file from {{ this_relation }}
    except
    select council_id || '|' || source_file from {{ lines }}
)
{%- endmacro %}
