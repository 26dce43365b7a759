"""The billing service: invoices, dunning and payment reconciliation jobs."""
