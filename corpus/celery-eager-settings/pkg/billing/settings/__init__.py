"""Settings modules, one per environment: production, testing."""
