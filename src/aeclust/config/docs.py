"""docs/params.md, written from the declarations of params.yaml's schema.

python -m aeclust.config.docs [OUT]     # default: docs/params.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from aeclust.config.fields import (
    Check,
    Inline,
    Optional,
    Section,
    check_of,
    default_of,
    fields_of,
    has_default,
)
from aeclust.config.schema import MODEL_KINDS, Models, Params

DOCS = Path("docs/params.md")
HEADER = """# params.yaml

Every key of params.yaml: what it is, what it may hold, and its default. A key with a
default may be left out; one without is required. A wrong or missing key stops the
stage with one line naming it, its value and what is allowed (exit status 2).

This page is written from the schema in `src/aeclust/config/schema.py`
(`python -m aeclust.config.docs`); a test fails when the two disagree.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _default(field) -> str:
    if not has_default(field):
        return "required"
    value = default_of(field)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if hasattr(value, "__dataclass_fields__"):
        return "see below" if any(True for _ in fields_of(type(value))) else ""
    return f"`{value}`"


def _rows(cls: type, path: str, sections: list[tuple[str, type, str]]) -> list[str]:
    rows = []
    for field in fields_of(cls):
        check: Check = check_of(field)
        key = f"{path}.{field.name}" if path else field.name
        inner = check.check if isinstance(check, Optional) else check
        if isinstance(check, Section):
            sections.append((key, check.cls, field.metadata["doc"]))
            continue
        if isinstance(check, Models):
            sections.extend(
                (f"models.<name> (kind: {kind})", model, model.__doc__ or "")
                for kind, model in MODEL_KINDS.items()
            )
            rows.append(
                f"| `{key}` | {_cell(check.allowed)} | required | {field.metadata['doc']} |"
            )
            continue
        if isinstance(inner, Inline):
            sections.append((f"{key} (a mapping)", inner.cls, field.metadata["doc"]))
        rows.append(
            f"| `{key}` | {_cell(check.allowed)} | {_default(field)} | "
            f"{_cell(field.metadata['doc'])} |"
        )
    return rows


def params_markdown() -> str:
    """The whole page."""
    out = [HEADER]
    sections: list[tuple[str, type, str]] = [("", Params, "The top level.")]
    done: set[str] = set()
    while sections:
        title, cls, doc = sections.pop(0)
        if title in done:  # the same mapping under several kinds of model
            continue
        done.add(title)
        name = title or "top level"
        path = title.split(" ")[0] if title and "<name>" not in title else ""
        if "<name>" in title:
            path = "models.<name>"
        out.append(f"## {name}\n")
        if doc:
            text = " ".join(doc.split())
            out.append(text[0].upper() + text[1:] + "\n")
        out.append("| key | allowed | default | meaning |\n| --- | --- | --- | --- |")
        found: list[tuple[str, type, str]] = []
        out.extend(_rows(cls, path, found))
        out.append("")
        sections.extend(found)
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str]) -> None:
    target = Path(argv[0]) if argv else DOCS
    target.write_text(params_markdown())
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
