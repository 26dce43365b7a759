"""Text helpers: compiled patterns."""
import re

SLUG = re.compile(r"[^a-z0-9]+")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)


def slugify(text):
    return SLUG.sub("-", text.lower()).strip("-")
