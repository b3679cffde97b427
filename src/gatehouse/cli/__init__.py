"""The ``gatehouse`` command line (Typer): an entry point, like :mod:`gatehouse.app`.

Commands act as the host operator or as an API token's owner through the use cases of :mod:`gatehouse.iam`.
May import every package but ``app``.
"""
