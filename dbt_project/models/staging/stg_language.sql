select
    language_id,
    trim(name) as language_name,
    last_update
from {{ source('pagila', 'language') }}
