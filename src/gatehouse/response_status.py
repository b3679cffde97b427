"""The status an ASGI app answered with, seen from a middleware around it (the access log, the metrics)."""

from __future__ import annotations

from starlette.types import Message, Send


class StatusWatch:
    """A ``send`` that remembers the status of ``http.response.start``; 500 until one is sent (what the client
    sees when the app fails before answering: the server's own error)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)
