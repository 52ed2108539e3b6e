"""A tiny document model (sections of paragraphs and tables) rendered to Markdown and HTML,
so each draft is written once and printed in both formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    title: str
    blocks: list[str | Table] = field(default_factory=list)

    def para(self, text: str) -> Section:
        self.blocks.append(text)
        return self

    def table(self, headers: list[str], rows: list[list[str]]) -> Section:
        self.blocks.append(Table(headers, rows))
        return self


@dataclass
class Document:
    title: str
    sections: list[Section] = field(default_factory=list)

    def section(self, title: str) -> Section:
        s = Section(title)
        self.sections.append(s)
        return s


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    for s in doc.sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, Table):
                out.append("| " + " | ".join(b.headers) + " |")
                out.append("|" + "---|" * len(b.headers))
                out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in b.rows]
            else:
                out.append(b)
            out.append("")
    return "\n".join(out)


CSS = ("body{font-family:system-ui,\"Noto Sans CJK SC\",sans-serif;margin:2rem;max-width:1100px}"
       "table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}"
       "td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}"
       "th{background:#f3f3f3}")


def to_html(doc: Document) -> str:
    body = [f"<h1>{escape(doc.title)}</h1>"]
    for s in doc.sections:
        body.append(f"<h2>{escape(s.title)}</h2>")
        for b in s.blocks:
            if isinstance(b, Table):
                body.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in b.headers)
                            + "</tr>" + "".join("<tr>" + "".join(
                                f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in b.rows)
                            + "</table>")
            else:
                body.append(f"<p>{escape(b)}</p>")
    return (f"<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>"
            f"{escape(doc.title)}</title><style>{CSS}</style></head><body>{''.join(body)}"
            "</body></html>\n")
