select
    customer_id,
    store_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as customer_name,
    email,
    address_id,
    activebool as is_active,
    create_date,
    last_update
from {{ source('pagila', 'customer') }}
