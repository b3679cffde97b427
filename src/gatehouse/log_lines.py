"""The server's log lines (``gatehouse.*`` and uvicorn's own), one line each: a message that holds what came from
outside (a decoded request path, a name in a refusal) has its control characters written as ``\\xNN``, so a
``%0a`` in a path cannot start a forged line (CWE-117) nor an escape sequence reach a terminal following the log.
A traceback keeps its lines: it is Gatehouse's own text, added after the message."""

from __future__ import annotations

import logging

from uvicorn.logging import DefaultFormatter

from gatehouse.control_chars import escaped


class OneLineFormatter(DefaultFormatter):
    """uvicorn's default formatter (level prefix, colours on a terminal), the message made one inert line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escaped(record.message)
        return super().formatMessage(record)
