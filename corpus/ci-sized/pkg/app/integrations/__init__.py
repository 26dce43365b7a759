"""Third-party integrations."""
