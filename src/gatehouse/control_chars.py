"""Control characters in text that came from outside (a SCIM userName, a decoded request path, an access request's
reason), written out as ``\\xNN`` before the text reaches a terminal or a log (foundation: imports nothing of
Gatehouse). A terminal obeys an escape sequence (CWE-150); a log line that holds a newline reads as two lines, the
second one forged (CWE-117)."""

from __future__ import annotations

import re
from typing import Final

_ANY: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BUT_LAYOUT: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escaped(text: str, *, keep_layout: bool = False) -> str:
    """``text`` with C0 and C1 control characters and DEL as ``\\xNN``; with ``keep_layout``, tab and newline
    stay (a terminal's table and lines)."""
    pattern = _BUT_LAYOUT if keep_layout else _ANY
    return pattern.sub(lambda found: f"\\x{ord(found.group()):02x}", text)
