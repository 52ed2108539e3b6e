"""collect room (see CONTRIBUTING.md)."""
