"""The Order model: a plain dataclass registered with the model registry."""
from dataclasses import dataclass

from app.registry import model


@model
@dataclass
class Order:
    id: int = 0
    user_id: object = None
    status: object = None
    total: object = None
