-- `password` and `picture` stay in the source: nothing downstream needs them.
select
    staff_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as staff_name,
    address_id,
    email,
    store_id,
    active as is_active,
    username,
    last_update
from {{ source('pagila', 'staff') }}
