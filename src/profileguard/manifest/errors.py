"""Manifest errors: every problem of a file at once, each as ``file:line:col: message``."""

from __future__ import annotations

from dataclasses import dataclass

from profileguard.errors import ProfileguardError


@dataclass(frozen=True)
class ManifestIssue:
    file: str
    line: int
    column: int
    path: str  # dotted location in the document, e.g. fields.users.phone.category
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


class ManifestError(ProfileguardError):
    """A manifest that does not validate; ``issues`` holds every problem found."""

    def __init__(self, issues: list[ManifestIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line, i.column, i.message))
        count = len(self.issues)
        head = f"{count} problem{'s' if count != 1 else ''} in the manifest"
        super().__init__(head + ":\n" + "\n".join(f"  {i}" for i in self.issues))
