"""rights room (see CONTRIBUTING.md)."""
