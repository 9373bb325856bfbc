{#- A composite key is unique: the rows sharing one combination of `columns` (dbt_utils'
    unique_combination_of_columns, without installing a package). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
