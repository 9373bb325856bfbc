-- Every film with its category (a film without one is kept, with a null category).
select
    f.film_id,
    f.title as film,
    c.category_name as category
from {{ ref('stg_film') }} as f
left join {{ ref('stg_film_category') }} as fc on fc.film_id = f.film_id
left join {{ ref('stg_category') }} as c on c.category_id = fc.category_id
