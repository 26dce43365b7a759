"""The Shipment model: a plain dataclass registered with the model registry."""
from dataclasses import dataclass

from app.registry import model


@model
@dataclass
class Shipment:
    id: int = 0
    order_id: object = None
    carrier: object = None
    tracking: object = None
