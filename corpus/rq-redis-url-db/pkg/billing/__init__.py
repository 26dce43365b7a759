"""Billing service: invoices are rendered and e-mailed by RQ jobs."""
