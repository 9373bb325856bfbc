-- Payments and revenue per calendar month (UTC) of the payment date.
with payments as (
    select
        strftime(timezone('UTC', payment_date), '%Y-%m') as month,
        amount
    from {{ ref('stg_payment') }}
),

final as (
    select month, count(*) as payments, sum(amount) as revenue
    from payments
    group by month
)

select * from final
