"""HTTP handlers for /health: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/health", methods=("GET",))
def list_health(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/health/<id>", methods=("GET", "PUT", "DELETE"))
def health_detail(request, id):
    return {"id": id}
