"""HTTP handlers for /reviews: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/reviews", methods=("GET",))
def list_reviews(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/reviews/<id>", methods=("GET", "PUT", "DELETE"))
def review_detail(request, id):
    return {"id": id}
