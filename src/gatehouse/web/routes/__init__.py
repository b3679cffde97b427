"""Dashboard page handlers, one module per area: parse the form, call one use case, render or redirect.

May import what :mod:`gatehouse.web` may (``sso``, ``iam``, ``store``, the foundation).
"""
