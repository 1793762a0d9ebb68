"""Extract every message, field (type, name, number) and enum value that the MTCTI-3 spec states.

Usage: python tools/spec_schema.py mtcti3-api-description.txt > tests/schema/spec_fields.json

The spec prints its schema in pieces between prose and page breaks; a line-oriented scan that attributes each
field to the last "message" header and each enum value to the last "enum" header reads it whole.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

MESSAGE = re.compile(r"^\s*message\s+(\w+)")
ENUM = re.compile(r"^\s*enum\s+(\w+)")
FIELD = re.compile(r"^\s*(repeated\s+)?([A-Za-z_][\w.]*)\s+(\w+)\s*=\s*(\d+)\s*;?\s*$")
VALUE = re.compile(r"^\s*(\w+)\s*=\s*(\d+)\s*;\s*$")


def extract(text: str) -> dict[str, dict[str, Any]]:
    """Return {message: {"fields": [[type, name, number]], "enums": {enum: [[value, number]]}}}."""
    messages: dict[str, dict[str, Any]] = {}
    current: str | None = None
    enum: str | None = None
    for line in text.splitlines():
        if match := MESSAGE.match(line):
            current, enum = match.group(1), None
            messages.setdefault(current, {"fields": [], "enums": {}})
        elif current is None:
            continue
        elif match := ENUM.match(line):
            enum = match.group(1)
            messages[current]["enums"].setdefault(enum, [])
        elif match := FIELD.match(line):
            enum = None
            kind = ("repeated " if match.group(1) else "") + match.group(2)
            messages[current]["fields"].append([kind, match.group(3), int(match.group(4))])
        elif enum is not None and (match := VALUE.match(line)):
            messages[current]["enums"][enum].append([match.group(1), int(match.group(2))])
    return messages


def main() -> None:
    """Print the extraction of the spec named on the command line as JSON."""
    print(json.dumps(extract(Path(sys.argv[1]).read_text(encoding="utf-8")), indent=1))


if __name__ == "__main__":
    main()
