"""The Cart model: a plain dataclass registered with the model registry."""
from dataclasses import dataclass

from app.registry import model


@model
@dataclass
class Cart:
    id: int = 0
    user_id: object = None
    items: object = None
