"""The inventory service: stock levels, reservations and replenishment jobs."""
