"""Dashboard page handlers, one module per area."""
