"""The Invoice model: a plain dataclass registered with the model registry."""
from dataclasses import dataclass

from app.registry import model


@model
@dataclass
class Invoice:
    id: int = 0
    order_id: object = None
    number: object = None
    due: object = None
