"""Shop application."""
from shop.config import setup  # noqa: F401
