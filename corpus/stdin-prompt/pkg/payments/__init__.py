"""The payments service: captures, refunds and payout reconciliation jobs."""
