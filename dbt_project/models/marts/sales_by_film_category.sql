-- pagila's view `sales_by_film_category`: payments per film category, largest first.
select
    c.category_name as category,
    sum(p.amount) as total_sales
from {{ ref('stg_payment') }} as p
join {{ ref('stg_rental') }} as r on r.rental_id = p.rental_id
join {{ ref('stg_inventory') }} as i on i.inventory_id = r.inventory_id
join {{ ref('stg_film_category') }} as fc on fc.film_id = i.film_id
join {{ ref('stg_category') }} as c on c.category_id = fc.category_id
group by c.category_name
order by total_sales desc
