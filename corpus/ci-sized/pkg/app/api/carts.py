"""HTTP handlers for /carts: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/carts", methods=("GET",))
def list_carts(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/carts/<id>", methods=("GET", "PUT", "DELETE"))
def cart_detail(request, id):
    return {"id": id}
