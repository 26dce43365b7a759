"""HTTP handlers for /orders: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/orders", methods=("GET",))
def list_orders(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/orders/<id>", methods=("GET", "PUT", "DELETE"))
def order_detail(request, id):
    return {"id": id}
