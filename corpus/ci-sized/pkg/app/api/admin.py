"""HTTP handlers for /admin: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/admin", methods=("GET",))
def list_admin(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/admin/<id>", methods=("GET", "PUT", "DELETE"))
def admin_detail(request, id):
    return {"id": id}
