-- Rentals handed out and payments taken per member of staff.
with rentals as (
    select staff_id, count(*) as rentals
    from {{ ref('stg_rental') }}
    group by staff_id
),

payments as (
    select staff_id, sum(amount) as revenue
    from {{ ref('stg_payment') }}
    group by staff_id
)

select
    s.staff_id,
    s.staff_name as name,
    coalesce(r.rentals, 0) as rentals,
    coalesce(p.revenue, 0) as revenue
from {{ ref('stg_staff') }} as s
left join rentals as r on r.staff_id = s.staff_id
left join payments as p on p.staff_id = s.staff_id
