"""The User model: a plain dataclass registered with the model registry."""
from dataclasses import dataclass

from app.registry import model


@model
@dataclass
class User:
    id: int = 0
    email: object = None
    name: object = None
    locale: object = None
