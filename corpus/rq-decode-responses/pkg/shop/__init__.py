"""The shop's back office: carts, stock, and the RQ jobs that mail receipts."""
