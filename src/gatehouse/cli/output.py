"""What the command line prints. Names, reasons and paths come from identity providers and from people (a SCIM
userName, an access request's reason), and a terminal obeys control characters: an escape sequence in a name could
rewrite the screen, retitle the window or write to the clipboard of the operator reading it (CWE-150). Every line
goes through :func:`echo`, which shows C0 and C1 control characters (but tab and newline) and DEL as ``\\xNN``
instead. JSON output is safe already (``json.dumps`` escapes them); it passes unchanged."""

from __future__ import annotations

import typer

from gatehouse.control_chars import escaped


def shown(text: str) -> str:
    """``text`` with every control character a terminal would act on written out as ``\\xNN``."""
    return escaped(text, keep_layout=True)


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """Print ``message`` (to standard error with ``err``) as :func:`shown` makes it."""
    typer.echo(shown(str(message)), err=err, nl=nl)
