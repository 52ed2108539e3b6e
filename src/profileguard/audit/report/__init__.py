"""Audit reports: terminal (Rich), JSON, Markdown, self-contained HTML, SARIF 2.1.0."""
