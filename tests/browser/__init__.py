"""Browser tests: Playwright driving Debian's chromium against real gatehouse processes."""
