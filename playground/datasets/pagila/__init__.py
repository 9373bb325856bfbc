"""pagila, the DVD-rental sample database: schema, a scalable generator and the seed command."""
