"""Storefront settings from the environment."""
import os

ENV = os.environ.get("STOREFRONT_ENV", "development")
CDN_URL = os.environ.get("STOREFRONT_CDN_URL", "http://localhost:8080/static")
CART_TTL = int(os.environ.get("STOREFRONT_CART_TTL", "3600"))
DEFAULT_LOCALE = os.environ.get("STOREFRONT_LOCALE", "en_GB")
