"""The Product model: a plain dataclass registered with the model registry."""
from dataclasses import dataclass

from app.registry import model


@model
@dataclass
class Product:
    id: int = 0
    sku: object = None
    title: object = None
    price: object = None
