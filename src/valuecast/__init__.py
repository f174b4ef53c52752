"""valuecast: customer lifetime value for e-commerce merchants."""

__version__ = "0.1.0"
