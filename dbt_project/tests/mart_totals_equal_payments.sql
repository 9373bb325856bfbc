{{ config(meta={"dagster": {"ref": {"name": "sales_by_store"}}}) }}
-- The marts' totals add up to the payments: no payment is lost or counted twice by a join.
-- Returns each mart whose total differs from what it must be (no rows when the test passes).
-- `sales_by_film_category` keeps the semantics of pagila's view of that name: a payment counts
-- once for every category of its film, so its total is the payments weighted by that number.
with payments as (
    select sum(amount) as total from {{ ref('stg_payment') }}
),

categories_per_film as (
    select film_id, count(*) as categories
    from {{ ref('stg_film_category') }}
    group by film_id
),

weighted_payments as (
    select sum(p.amount * c.categories) as total
    from {{ ref('stg_payment') }} as p
    join {{ ref('stg_rental') }} as r on r.rental_id = p.rental_id
    join {{ ref('stg_inventory') }} as i on i.inventory_id = r.inventory_id
    join categories_per_film as c on c.film_id = i.film_id
),

expected as (
    select 'orders_by_customer' as mart, (select sum(total_paid) from {{ ref('orders_by_customer') }}) as mart_total, total as expected_total from payments
    union all
    select 'sales_by_film', (select sum(revenue) from {{ ref('sales_by_film') }}), total from payments
    union all
    select 'sales_by_staff', (select sum(revenue) from {{ ref('sales_by_staff') }}), total from payments
    union all
    select 'sales_by_store', (select sum(total_sales) from {{ ref('sales_by_store') }}), total from payments
    union all
    select 'revenue_by_month', (select sum(revenue) from {{ ref('revenue_by_month') }}), total from payments
    union all
    select 'sales_by_film_category', (select sum(total_sales) from {{ ref('sales_by_film_category') }}), total from weighted_payments
)

select mart, mart_total, expected_total
from expected
where mart_total is distinct from expected_total
