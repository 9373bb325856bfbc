select
    actor_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as actor_name,
    last_update
from {{ source('pagila', 'actor') }}
