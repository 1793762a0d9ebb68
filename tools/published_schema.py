"""Read the facts of a published MTCTI-3 schema into a table, and render a .proto from such a table.

Usage:
  python tools/published_schema.py facts PAGE.md > tests/schema/v1_facts.json
  python tools/published_schema.py render tests/schema/v1_facts.json > ipo_mtcti3.proto

A facts page lists each message under a "## Name" heading with a table "| field | number | type | label | oneof |"
and each enum as a line "enum `Message.Enum`: A = 0, B = 1". The table keeps, per message, its fields as
[name, number, type, label, oneof] and its enums as [[value name, number]]. Rendering writes the messages in the
table's order, fields by number, each oneof's members together after the other fields: a schema any protobuf
compiler accepts, with the same wire format and generated names as the schema the facts came from.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

Facts = dict[str, dict[str, Any]]

_HEADING = re.compile(r"^## (\w+)$")
_ROW = re.compile(r"^\| (\w+) \| (\d+) \| ([\w.]+) \| (\w*) \| (\w*) \|$")
_ENUM = re.compile(r"^enum `(\w+)\.(\w+)`: (.*)$")


def read_facts(text: str) -> Facts:
    """The table of the facts page ``text``."""
    facts: Facts = {}
    current: str | None = None
    for line in text.splitlines():
        if match := _HEADING.match(line):
            current = match.group(1)
            facts[current] = {"fields": [], "enums": {}}
        elif current is not None and (match := _ROW.match(line)):
            name, number, kind, label, oneof = match.groups()
            facts[current]["fields"].append([name, int(number), kind, label, oneof])
        elif current is not None and (match := _ENUM.match(line)):
            if match.group(1) != current:
                raise ValueError(f"enum {match.group(1)}.{match.group(2)} listed under {current}")
            values = [item.split(" = ") for item in match.group(3).split(", ")]
            facts[current]["enums"][match.group(2)] = [[name, int(number)] for name, number in values]
    return facts


def render_proto(facts: Facts, package: str) -> str:
    """A proto3 schema with exactly the messages, fields and enums of ``facts``."""
    out = ['syntax = "proto3";', "", f"package {package};"]
    for message, body in facts.items():
        out += ["", f"message {message}", "{"]
        for enum, values in body["enums"].items():
            out += [f"  enum {enum}", "  {", *(f"    {name} = {number};" for name, number in values), "  }"]
        oneofs: dict[str, list[str]] = {}
        for name, number, kind, label, oneof in sorted(body["fields"], key=lambda field: field[1]):
            declaration = f"{label + ' ' if label else ''}{kind} {name} = {number};"
            if oneof:
                oneofs.setdefault(oneof, []).append(f"    {declaration}")
            else:
                out.append(f"  {declaration}")
        for oneof, members in oneofs.items():
            out += [f"  oneof {oneof}", "  {", *members, "  }"]
        out.append("}")
    return "\n".join(out) + "\n"


def counts(facts: Facts) -> tuple[int, int, int]:
    """(messages, fields, enum values) of ``facts``."""
    fields = sum(len(body["fields"]) for body in facts.values())
    values = sum(len(values) for body in facts.values() for values in body["enums"].values())
    return len(facts), fields, values


def main() -> None:
    """The command line: see the module's docstring."""
    verb, path = sys.argv[1], Path(sys.argv[2])
    if verb == "facts":
        print(json.dumps(read_facts(path.read_text(encoding="utf-8")), indent=1))
    elif verb == "render":
        print(render_proto(json.loads(path.read_text(encoding="utf-8")), "main"), end="")
    else:
        raise SystemExit(f"unknown verb {verb!r}: facts or render")


if __name__ == "__main__":
    main()
