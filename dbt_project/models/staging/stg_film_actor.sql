select
    actor_id,
    film_id,
    last_update
from {{ source('pagila', 'film_actor') }}
