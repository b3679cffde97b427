"""Audit streaming: the background deliverer of the audit outbox to webhooks, syslog and JSON-lines files.

Beside ``sso`` (both make calls out): may import ``iam``, ``store`` (through its functions) and the foundation.
"""
