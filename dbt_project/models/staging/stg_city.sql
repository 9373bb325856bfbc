select
    city_id,
    city as city_name,
    country_id,
    last_update
from {{ source('pagila', 'city') }}
