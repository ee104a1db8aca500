"""cashier: the counter of a clinic and the till of a pharmacy."""

__version__ = "0.1.0"
