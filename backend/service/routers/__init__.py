"""The service's routes, one module per resource: jobs (reconstruction) and avatars (live wrinkles)."""
