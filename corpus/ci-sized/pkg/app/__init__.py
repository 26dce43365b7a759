"""The shop backend: HTTP API, domain models, services and background jobs."""
