"""Control characters from outside written out (control_chars.py): in a log line everything that is not text,
newlines included; on a terminal, tab and newline stay."""

from __future__ import annotations

from gatehouse.control_chars import escaped


def test_a_log_line_keeps_no_line_break_and_no_escape() -> None:
    assert escaped("a\nb\r\tc\x1b[2J\x00\x7f\x85") == "a\\x0ab\\x0d\\x09c\\x1b[2J\\x00\\x7f\\x85"
    assert escaped("é İ 漢字 \u2028") == "é İ 漢字 \u2028"  # letters, and what is no C0/C1 control, stay


def test_a_terminal_keeps_its_layout() -> None:
    assert escaped("name\tkind\nrow\x1b]0;title\x07", keep_layout=True) == "name\tkind\nrow\\x1b]0;title\\x07"
