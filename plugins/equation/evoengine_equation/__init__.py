"""evoengine plugin: equations to maximize or minimize, and classic test functions."""

__version__ = "0.1.0"
