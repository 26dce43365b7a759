"""The report catalog: every report, by domain."""
DOMAINS = {
    "sales": ["revenue", "margin", "orders", "returns", "discounts", "refunds", "basket_size", "conversion"],
    "finance": ["ledger", "receivables", "payables", "cash_flow", "vat", "accruals", "budget_variance"],
    "inventory": ["stock_levels", "stock_ageing", "shrinkage", "reorder_points", "turnover", "dead_stock"],
    "logistics": ["shipments", "carrier_costs", "delivery_times", "damages", "pickups", "route_load"],
    "customers": ["churn", "cohorts", "lifetime_value", "segments", "nps", "complaints", "signups"],
}
PERIODS = ["hourly", "daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly"]
FORMATS = ["csv", "xlsx", "pdf", "parquet", "json", "html"]
