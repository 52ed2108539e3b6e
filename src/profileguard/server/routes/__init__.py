"""The server's routers, one module per area (subject API, staff API, pages)."""
