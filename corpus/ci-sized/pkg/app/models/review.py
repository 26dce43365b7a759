"""The Review model: a plain dataclass registered with the model registry."""
from dataclasses import dataclass

from app.registry import model


@model
@dataclass
class Review:
    id: int = 0
    product_id: object = None
    rating: object = None
    text: object = None
