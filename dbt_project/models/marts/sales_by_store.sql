-- pagila's view `sales_by_store`: payments per store (where the rented copy is kept), with the
-- store's city, country and manager.
select
    s.store_id,
    ci.city_name || ',' || co.country_name as store,
    m.staff_name as manager,
    sum(p.amount) as total_sales
from {{ ref('stg_payment') }} as p
join {{ ref('stg_rental') }} as r on r.rental_id = p.rental_id
join {{ ref('stg_inventory') }} as i on i.inventory_id = r.inventory_id
join {{ ref('stg_store') }} as s on s.store_id = i.store_id
join {{ ref('stg_address') }} as a on a.address_id = s.address_id
join {{ ref('stg_city') }} as ci on ci.city_id = a.city_id
join {{ ref('stg_country') }} as co on co.country_id = ci.country_id
join {{ ref('stg_staff') }} as m on m.staff_id = s.manager_staff_id
group by s.store_id, co.country_name, ci.city_name, m.staff_name
order by co.country_name, ci.city_name
