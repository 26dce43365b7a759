"""Ledger: double-entry bookkeeping for the shop, with its background jobs on Dramatiq."""
