"""model room (see CONTRIBUTING.md)."""
