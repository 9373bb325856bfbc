-- Rentals per store (where the rented copy is kept) and how many came back later than the
-- film's rental duration allows. A rental not yet returned is not late (yet).
with rentals as (
    select
        i.store_id,
        r.return_date > r.rental_date + to_days(f.rental_duration) as is_late
    from {{ ref('stg_rental') }} as r
    join {{ ref('stg_inventory') }} as i on i.inventory_id = r.inventory_id
    join {{ ref('stg_film') }} as f on f.film_id = i.film_id
),

final as (
    select
        store_id,
        count(*) as rentals,
        count(*) filter (where is_late) as late_returns,
        round(100.0 * count(*) filter (where is_late) / count(*), 1) as late_percent
    from rentals
    group by store_id
)

select * from final
