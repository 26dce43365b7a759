"""HTTP handlers for /webhooks: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/webhooks", methods=("GET",))
def list_webhooks(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/webhooks/<id>", methods=("GET", "PUT", "DELETE"))
def webhook_detail(request, id):
    return {"id": id}
