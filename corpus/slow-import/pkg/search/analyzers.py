"""Text analysis for indexing: tokenizer and stop words, compiled once at import."""
import re

STOP_WORDS = frozenset("a an and are as at be by for from in is it of on or the to with".split())
_TOKEN = re.compile(r"[\w']+", re.UNICODE)


def tokens(text):
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS]
