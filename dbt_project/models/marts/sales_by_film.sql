-- Rentals and revenue per film, over all its inventory copies and stores.
with rentals as (
    select i.film_id, count(*) as rentals
    from {{ ref('stg_rental') }} as r
    join {{ ref('stg_inventory') }} as i on i.inventory_id = r.inventory_id
    group by i.film_id
),

revenue as (
    select i.film_id, sum(p.amount) as revenue
    from {{ ref('stg_payment') }} as p
    join {{ ref('stg_rental') }} as r on r.rental_id = p.rental_id
    join {{ ref('stg_inventory') }} as i on i.inventory_id = r.inventory_id
    group by i.film_id
)

select
    f.film_id,
    f.title,
    coalesce(r.rentals, 0) as rentals,
    coalesce(v.revenue, 0) as revenue
from {{ ref('stg_film') }} as f
left join rentals as r on r.film_id = f.film_id
left join revenue as v on v.film_id = f.film_id
