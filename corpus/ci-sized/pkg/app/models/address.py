"""The Address model: a plain dataclass registered with the model registry."""
from dataclasses import dataclass

from app.registry import model


@model
@dataclass
class Address:
    id: int = 0
    street: object = None
    city: object = None
    country: object = None
