"""The Coupon model: a plain dataclass registered with the model registry."""
from dataclasses import dataclass

from app.registry import model


@model
@dataclass
class Coupon:
    id: int = 0
    code: object = None
    percent_off: object = None
