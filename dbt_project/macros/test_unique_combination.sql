{#- A composite key is unique: the rows sharing one combination of `columns` (dbt_utils'
    unique_combination_of_columns). Kept here: dbt packages install from dbt Hub or GitHub, which
    an install from package registries alone cannot reach, and this is its one test we use. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
