"""Gatehouse: the organization-and-access plane of an API-gateway dashboard."""

__version__ = "0.1.0"
