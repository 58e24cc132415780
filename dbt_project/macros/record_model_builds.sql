{#- on-run-end: which dbt invocation last built each model, kept in the warehouse itself
    (ops.dbt_model_builds), so what is published from it can name the build that made its marts - not
    whatever dbt command last wrote target/run_results.json. Only for commands that build models
    (build, run); a model that failed keeps its previous row. -#}
{% macro record_model_builds(results) -%}
{%- if execute and flags.WHICH in ('build', 'run') -%}
{%- set built = [] -%}
{%- for r in results if r.node.resource_type == 'model' and r.status == 'success' -%}
{%- do built.append(r.node.name) -%}
{%- endfor -%}
create schema if not exists ops;
create table if not exists ops.dbt_model_builds (
    model varchar not null, invocation_id varchar not null, built_at timestamp not null
);
{%- if built %}
delete from ops.dbt_model_builds where model in ('{{ built | join("', '") }}');
insert into ops.dbt_model_builds (model, invocation_id, built_at)
values
{%- for name in built %}
    ('{{ name }}', '{{ invocation_id }}', {{ dbt.current_timestamp() }}){{ "," if not loop.last }}
{%- endfor %};
{%- endif %}
{%- else -%}
select 1
{%- endif -%}
{%- endmacro %}
