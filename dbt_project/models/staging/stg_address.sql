select
    address_id,
    address,
    district,
    city_id,
    postal_code,
    phone,
    last_update
from {{ source('pagila', 'address') }}
