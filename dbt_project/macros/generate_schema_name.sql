{#- Schemas are named exactly as configured (`staging`, `marts`), not `<target>_<name>`:
    BI tools and lessons read `marts.<model>` from the warehouse file. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
