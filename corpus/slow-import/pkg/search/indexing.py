"""Indexing helpers: document preparation, no I/O at import."""
from search import analyzers, settings


def prepare(product):
    return {
        "_index": settings.INDEX_NAME,
        "_id": product["id"],
        "title_tokens": analyzers.tokens(product.get("title", "")),
    }


def batches(products):
    batch = []
    for product in products:
        batch.append(prepare(product))
        if len(batch) >= settings.BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch
