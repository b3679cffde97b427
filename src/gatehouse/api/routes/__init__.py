"""The admin API's routers, one per feature: parse the request, call one use case, render its JSON.

May import what :mod:`gatehouse.api` may (``sso``, ``iam``, ``store``, the foundation).
"""
