"""HTTP handlers for /coupons: registered in the route table at import."""
from app import config
from app.registry import route


@route("/api/v1/coupons", methods=("GET",))
def list_coupons(request):
    return {"items": [], "page_size": config.PAGE_SIZE}


@route("/api/v1/coupons/<id>", methods=("GET", "PUT", "DELETE"))
def coupon_detail(request, id):
    return {"id": id}
