"""proto/ipo_mtcti3.proto against the spec: the exact bytes it gives, every field it states, every inference marked."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from custom_components.ipoffice.mtcti3.codec import Subprotocol, decode_message, encode_message
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from tools.spec_schema import extract

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto" / "ipo_mtcti3.proto"
SPEC_FIELDS = json.loads((Path(__file__).parent / "spec_fields.json").read_text(encoding="utf-8"))
SPEC_TEXT = Path(os.environ.get("IPOFFICE_SPEC", ROOT.parent / "shared" / "spec" / "mtcti3-api-description.txt"))

# The one place where this file departs from the spec's text, on purpose (see the comment in the proto).
RESOLVED_CONTRADICTIONS = {("SubscribeEnd", "subscribe_id"): (1, 2)}

SCALARS = {
    "int32": FieldDescriptor.TYPE_INT32,
    "string": FieldDescriptor.TYPE_STRING,
    "bytes": FieldDescriptor.TYPE_BYTES,
    "bool": FieldDescriptor.TYPE_BOOL,
}


def test_first_payload_is_the_spec_bytes() -> None:
    """The spec's 'First payload': a lines subscription that must encode as exactly 14 bytes."""
    message = pb.Message(
        subscribe=pb.Subscribe(requestid=1, subscribe_id=1, timeout=3600, lines=pb.SubscribeLines(flags=7))
    )
    assert message.SerializeToString() == bytes.fromhex("1A 0C 08 01 10 01 18 90 1C C2 02 02 08 07")
    assert encode_message(message) == bytes.fromhex("00 00 00 01 1A 0C 08 01 10 01 18 90 1C C2 02 02 08 07")
    assert encode_message(message, Subprotocol.UNFRAMED) == message.SerializeToString()
    assert decode_message(bytes.fromhex("00 00 00 01 1A 0C 08 01 10 01 18 90 1C C2 02 02 08 07")) == message


def _message(name: str) -> Descriptor:
    return pb.DESCRIPTOR.message_types_by_name[name]


def _enum(message: Descriptor, name: str) -> EnumDescriptor:
    return message.enum_types_by_name[name]


@pytest.mark.parametrize("name", sorted(SPEC_FIELDS))
def test_every_field_the_spec_states(name: str) -> None:
    """Each message the spec defines has each of its fields with the same name, type, label and number."""
    descriptor = _message(name)
    stated: dict[str, Any] = SPEC_FIELDS[name]
    for kind, field_name, number in stated["fields"]:
        field = descriptor.fields_by_name.get(field_name)
        assert field is not None, f"{name}.{field_name} is missing"
        expected = RESOLVED_CONTRADICTIONS.get((name, field_name), (number, number))[1]
        assert field.number == expected, f"{name}.{field_name} = {field.number}, the spec says {number}"
        repeated = kind.startswith("repeated ")
        assert field.is_repeated == repeated, f"{name}.{field_name} repeated should be {repeated}"
        type_name = kind.removeprefix("repeated ")
        if type_name in SCALARS:
            assert field.type == SCALARS[type_name], f"{name}.{field_name} should be {type_name}"
        elif field.type == FieldDescriptor.TYPE_ENUM:
            assert field.enum_type.name == type_name.rsplit(".", 1)[-1]
        else:
            assert field.type == FieldDescriptor.TYPE_MESSAGE, f"{name}.{field_name} should be {type_name}"
            assert field.message_type.name == type_name.rsplit(".", 1)[-1]
    for enum_name, values in stated["enums"].items():
        enum = _enum(descriptor, enum_name)
        assert [[v.name, v.number] for v in enum.values] == values, f"{name}.{enum_name} values differ"


def test_spec_table_is_the_spec() -> None:
    """tests/schema/spec_fields.json is exactly what tools/spec_schema.py reads out of the spec."""
    if not SPEC_TEXT.exists():
        pytest.skip(f"the spec is not on this machine ({SPEC_TEXT}); set IPOFFICE_SPEC to check the table")
    assert extract(SPEC_TEXT.read_text(encoding="utf-8")) == SPEC_FIELDS
    assert len(SPEC_FIELDS) == 33
    assert len(SPEC_FIELDS["CallInfo"]["fields"]) == 28


def _declarations() -> list[tuple[str, str, bool]]:
    """(scope, name, marked) for every field and enum value our proto declares, and whether it says 'inferred:'."""
    scope: list[str] = []
    comments: list[str] = []
    found: list[tuple[str, str, bool]] = []
    for raw in PROTO.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("//"):
            comments.append(line)
            continue
        if header := re.match(r"(message|enum)\s+(\w+)", line):
            marked = any("inferred:" in c for c in comments)
            scope.append(header.group(2) + ("*" if marked else ""))
        elif line.startswith("}"):
            if scope:
                scope.pop()
        elif decl := re.match(r"(?:repeated\s+)?(?:[\w.]+\s+)?(\w+)\s*=\s*\d+", line):
            marked = "inferred:" in line or any("inferred:" in c for c in comments)
            found.append((".".join(scope), decl.group(1), marked))
        comments = [] if line else comments
    return found


def test_every_inference_is_marked() -> None:
    """Every field or enum value the spec does not state carries an '// inferred:' comment saying from what."""
    stated = set()
    for message, body in SPEC_FIELDS.items():
        stated |= {(message, field[1]) for field in body["fields"]}
        for enum, values in body["enums"].items():
            stated |= {(f"{message}.{enum}", value[0]) for value in values}
    declarations = _declarations()
    assert len(declarations) > 300
    unmarked = [
        f"{scope}.{name}"
        for scope, name, marked in declarations
        if (scope.replace("*", ""), name) not in stated and not marked
    ]
    assert unmarked == []
    inferred = [d for d in declarations if (d[0].replace("*", ""), d[1]) not in stated]
    assert len(inferred) > 60  # the schema the spec only shows by example


def test_generated_code_matches_the_proto(tmp_path: Path) -> None:
    """The committed generated code is what scripts/generate-proto makes of proto/ipo_mtcti3.proto today."""
    subprocess.run(
        [str(ROOT / "scripts" / "generate-proto")],
        check=True,
        capture_output=True,
        env={**os.environ, "IPOFFICE_PROTO_OUT": str(tmp_path)},
        cwd=ROOT,
    )
    committed = ROOT / "custom_components" / "ipoffice" / "mtcti3" / "proto"
    for name in ("ipo_mtcti3_pb2.py", "ipo_mtcti3_pb2.pyi"):
        assert (tmp_path / name).read_text() == (committed / name).read_text(), f"{name} drifted: run generate-proto"
