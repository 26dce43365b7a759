"""The SKU catalogue the workers keep in memory (a generated stand-in for the real one)."""
WAREHOUSES = ("AMS-1", "FRA-2", "MAD-1", "WAW-3")
CATEGORIES = ("apparel", "garden", "kitchen", "outdoor", "toys", "tools")

SKUS = [
    {
        "sku": f"SKU-{n:06d}",
        "category": CATEGORIES[n % len(CATEGORIES)],
        "warehouse": WAREHOUSES[n % len(WAREHOUSES)],
        "on_hand": (n * 37) % 500,
        "reorder_at": 20 + n % 30,
    }
    for n in range(1600)
]
