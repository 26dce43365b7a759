"""HTTP handlers for /users: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/users", methods=("GET",))
def list_users(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/users/<id>", methods=("GET", "PUT", "DELETE"))
def user_detail(request, id):
    return {"id": id}
