"""What the command line prints (cli/output.py): control characters a terminal would act on are written out."""

from __future__ import annotations

import pytest

from gatehouse.cli.output import shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain\ttext\n", "plain\ttext\n"),  # tab and newline are layout
        ("\x1b[2J", "\\x1b[2J"),  # ESC: clear the screen
        ("a\rb", "a\\x0db"),  # CR: overwrite the line
        ("\x07\x7f\x9b\x85", "\\x07\\x7f\\x9b\\x85"),  # BEL, DEL, C1 CSI and NEL
        ("é İ 漢字", "é İ 漢字"),  # letters of any script stay
    ],
)
def test_control_characters_are_written_out(text: str, expected: str) -> None:
    assert shown(text) == expected
