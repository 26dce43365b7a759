"""HTTP handlers for /search: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/search", methods=("GET",))
def list_search(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/search/<id>", methods=("GET", "PUT", "DELETE"))
def search_detail(request, id):
    return {"id": id}
