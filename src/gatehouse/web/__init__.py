"""The dashboard: server-rendered pages (Jinja2), no build step, usable without JavaScript."""
