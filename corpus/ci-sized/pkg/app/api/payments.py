"""HTTP handlers for /payments: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/payments", methods=("GET",))
def list_payments(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/payments/<id>", methods=("GET", "PUT", "DELETE"))
def payment_detail(request, id):
    return {"id": id}
