"""Slugs and canonical URLs for catalogue pages: compiled once at import."""
import re
import unicodedata

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def slugify(title):
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return _NOT_WORD.sub("-", ascii_title.lower()).strip("-")
