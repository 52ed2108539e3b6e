"""audit room (see CONTRIBUTING.md)."""
