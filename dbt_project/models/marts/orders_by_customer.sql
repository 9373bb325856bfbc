-- Rentals and payments per customer (customers who never rented are kept, with zeros).
with rentals as (
    select customer_id, count(*) as rentals
    from {{ ref('stg_rental') }}
    group by customer_id
),

payments as (
    select customer_id, sum(amount) as total_paid
    from {{ ref('stg_payment') }}
    group by customer_id
)

select
    c.customer_id,
    c.customer_name as name,
    coalesce(r.rentals, 0) as rentals,
    coalesce(p.total_paid, 0) as total_paid
from {{ ref('stg_customer') }} as c
left join rentals as r on r.customer_id = c.customer_id
left join payments as p on p.customer_id = c.customer_id
