-- `fulltext` (a PostgreSQL tsvector) is left out: it is search plumbing, not film data.
select
    film_id,
    title,
    description,
    release_year,
    language_id,
    original_language_id,
    rental_duration,
    rental_rate,
    length as length_minutes,
    replacement_cost,
    rating,
    special_features,
    last_update
from {{ source('pagila', 'film') }}
