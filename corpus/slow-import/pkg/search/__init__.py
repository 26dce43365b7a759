"""The search service: indexing jobs and query ranking."""
