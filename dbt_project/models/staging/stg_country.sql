select
    country_id,
    country as country_name,
    last_update
from {{ source('pagila', 'country') }}
