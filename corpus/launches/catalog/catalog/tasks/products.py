from catalog.celery import app


@app.task
def publish_product(sku):
    return sku
