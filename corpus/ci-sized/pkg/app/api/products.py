"""HTTP handlers for /products: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/products", methods=("GET",))
def list_products(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/products/<id>", methods=("GET", "PUT", "DELETE"))
def product_detail(request, id):
    return {"id": id}
