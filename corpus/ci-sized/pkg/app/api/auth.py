"""HTTP handlers for /auth: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/auth", methods=("GET",))
def list_auth(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/auth/<id>", methods=("GET", "PUT", "DELETE"))
def auth_detail(request, id):
    return {"id": id}
