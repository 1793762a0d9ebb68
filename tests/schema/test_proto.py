"""proto/ipo_mtcti3.proto against its two sources: every fact of Avaya's published schema (Version 1.0) exactly,
every field the API description states (by the published name where the two differ), the description's exact
bytes, and every line that neither states marked."""

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
from tools.published_schema import counts, read_facts
from tools.spec_schema import extract

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto" / "ipo_mtcti3.proto"
SPEC_FIELDS = json.loads((Path(__file__).parent / "spec_fields.json").read_text(encoding="utf-8"))
# Avaya's two documents are not in this repository: name them to check the tables against them.
SPEC_TEXT = Path(os.environ.get("IPOFFICE_SPEC", "mtcti3-api-description.txt"))
V1_FACTS = json.loads((Path(__file__).parent / "v1_facts.json").read_text(encoding="utf-8"))
V1_PAGE = Path(os.environ.get("IPOFFICE_V1_FACTS", "mtcti3-official-schema-v1.0.md"))

# Where the description's text and the published schema differ, the published schema is right.
RESOLVED_CONTRADICTIONS = {("SubscribeEnd", "subscribe_id"): (1, 2)}  # the description's 1 collides with requestid
PUBLISHED_TYPES = {("NotifyPresententity", "sac"): "bool"}  # the description's int32 (both encode as a varint)
MISPRINTS = {  # the description's name: the published name
    "NotifyPresententity": "NotifyPresentity",
    "Note": "Notes",
    "AgentRecording": "AgentRecordingControl",
    "katakanaaname": "katakananame",
    "RINGINVOICEMAIL": "RINGINGVOICEMAIL",
    "Unused16": "SetNotes",  # the description's list of actions; its own sections name 17, 20, 22 as published
    "Unused20": "ShortCodeAction",
    "Unused22": "AnswerPage",
}
TYPE_NAMES = {
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_BOOL: "bool",
}

_MARK = re.compile(r"(inferred|beyond v1\.0):")

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


def _type_of(field: FieldDescriptor) -> str:
    """A field's type as the facts table writes it: a scalar's name, or Message / Message.Enum for the others."""
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return field.message_type.name
    if field.type == FieldDescriptor.TYPE_ENUM:
        enum = field.enum_type
        return f"{enum.containing_type.name}.{enum.name}" if enum.containing_type else enum.name
    return TYPE_NAMES[field.type]


def _facts_of(descriptor: Descriptor) -> dict[str, Any]:
    """Our schema's message ``descriptor`` as a facts-table entry."""
    return {
        "fields": sorted(
            [
                field.name,
                field.number,
                _type_of(field),
                "repeated" if field.is_repeated else "",
                field.containing_oneof.name if field.containing_oneof else "",
            ]
            for field in descriptor.fields
        ),
        "enums": {enum.name: [[v.name, v.number] for v in enum.values] for enum in descriptor.enum_types},
    }


def test_the_facts_table_is_the_published_schema() -> None:
    """tests/schema/v1_facts.json holds every fact of Avaya's published Version 1.0, as its facts page lists them."""
    assert counts(V1_FACTS) == (68, 297, 138)
    if not V1_PAGE.exists():
        pytest.skip(f"the facts page is not on this machine ({V1_PAGE}); set IPOFFICE_V1_FACTS to check the table")
    assert read_facts(V1_PAGE.read_text(encoding="utf-8")) == V1_FACTS


@pytest.mark.parametrize("name", sorted(V1_FACTS))
def test_every_published_fact(name: str) -> None:
    """Each message of Version 1.0 is ours with the same fields (name, number, type, label, oneof) and enums; what
    we add beyond it is a field the published message does not have, never a change to one it has."""
    assert name in pb.DESCRIPTOR.message_types_by_name, f"message {name} is missing"
    ours = _facts_of(_message(name))
    published = V1_FACTS[name]
    missing = [field for field in published["fields"] if field not in ours["fields"]]
    assert missing == [], f"{name}: these published fields differ or are missing"
    numbers = {field[1] for field in published["fields"]}
    names = {field[0] for field in published["fields"]}
    added = [field for field in ours["fields"] if field not in published["fields"]]
    assert [f for f in added if f[1] in numbers or f[0] in names] == [], f"{name}: an addition reuses a published fact"
    for enum, values in published["enums"].items():
        assert ours["enums"].get(enum) == values, f"{name}.{enum}: the values differ from the published ones"


def test_the_published_counts() -> None:
    """Every one of the 297 published fields and 138 enum values is ours, and our schema keeps only a handful
    more (what the description adds)."""
    ours = {name: _facts_of(_message(name)) for name in V1_FACTS}
    fields = sum(f in ours[m]["fields"] for m, body in V1_FACTS.items() for f in body["fields"])
    values = sum(
        ours[m]["enums"].get(e) == v for m, body in V1_FACTS.items() for e, v in body["enums"].items() for _ in v
    )
    assert (fields, values) == (297, 138)
    assert set(pb.DESCRIPTOR.message_types_by_name) == set(V1_FACTS)


@pytest.mark.parametrize("name", sorted(SPEC_FIELDS))
def test_every_field_the_spec_states(name: str) -> None:
    """Each message the description defines has each of its fields with the same name, type, label and number
    (by the published name where the description misprints it)."""
    descriptor = _message(MISPRINTS.get(name, name))
    stated: dict[str, Any] = SPEC_FIELDS[name]
    for kind, field_name, number in stated["fields"]:
        field = descriptor.fields_by_name.get(MISPRINTS.get(field_name, field_name))
        assert field is not None, f"{name}.{field_name} is missing"
        expected = RESOLVED_CONTRADICTIONS.get((name, field_name), (number, number))[1]
        assert field.number == expected, f"{name}.{field_name} = {field.number}, the spec says {number}"
        repeated = kind.startswith("repeated ")
        assert field.is_repeated == repeated, f"{name}.{field_name} repeated should be {repeated}"
        type_name = PUBLISHED_TYPES.get((name, field_name), kind.removeprefix("repeated "))
        if type_name in SCALARS:
            assert field.type == SCALARS[type_name], f"{name}.{field_name} should be {type_name}"
        elif field.type == FieldDescriptor.TYPE_ENUM:
            assert field.enum_type.name == type_name.rsplit(".", 1)[-1]
        else:
            assert field.type == FieldDescriptor.TYPE_MESSAGE, f"{name}.{field_name} should be {type_name}"
            published = type_name.rsplit(".", 1)[-1]
            assert field.message_type.name == MISPRINTS.get(published, published)
    for enum_name, values in stated["enums"].items():
        enum = _enum(descriptor, enum_name)
        published = [[MISPRINTS.get(value, value), number] for value, number in values]
        assert [[v.name, v.number] for v in enum.values] == published, f"{name}.{enum_name} values differ"


def test_spec_table_is_the_spec() -> None:
    """tests/schema/spec_fields.json is exactly what tools/spec_schema.py reads out of the spec."""
    if not SPEC_TEXT.exists():
        pytest.skip(f"the spec is not on this machine ({SPEC_TEXT}); set IPOFFICE_SPEC to check the table")
    assert extract(SPEC_TEXT.read_text(encoding="utf-8")) == SPEC_FIELDS
    assert len(SPEC_FIELDS) == 33
    assert len(SPEC_FIELDS["CallInfo"]["fields"]) == 28


def _declarations() -> list[tuple[str, str, bool]]:
    """(scope, name, marked) for every field and enum value our proto declares, and whether a comment marks it
    'beyond v1.0:' (stated by the description only) or 'inferred:' (stated by neither source)."""
    scope: list[str] = []
    comments: list[str] = []
    found: list[tuple[str, str, bool]] = []
    for raw in PROTO.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("//"):
            comments.append(line)
            continue
        if header := re.match(r"(message|enum)\s+(\w+)", line):
            marked = any(_MARK.search(c) for c in comments)
            scope.append(header.group(2) + ("*" if marked else ""))
        elif line.startswith("}"):
            if scope:
                scope.pop()
        elif decl := re.match(r"(?:repeated\s+)?(?:[\w.]+\s+)?(\w+)\s*=\s*\d+", line):
            marked = bool(_MARK.search(line)) or any(_MARK.search(c) for c in comments)
            found.append((".".join(scope), decl.group(1), marked))
        comments = [] if line else comments
    return found


def test_every_addition_is_marked() -> None:
    """Every field or enum value that Version 1.0 does not state carries a mark saying where it comes from: the
    description ('beyond v1.0: <section>') or, where neither source states it, 'inferred: <from what>'."""
    published = set()
    for message, body in V1_FACTS.items():
        published |= {(message, field[0]) for field in body["fields"]}
        for enum, values in body["enums"].items():
            published |= {(f"{message}.{enum}", value[0]) for value in values}
    declarations = _declarations()
    assert len(declarations) == 297 + 138 + 6  # the description's 3 fields, and an enum of 2 values for one of them
    unmarked = [f"{s}.{n}" for s, n, marked in declarations if (s.replace("*", ""), n) not in published and not marked]
    assert unmarked == []
    assert sum((s.replace("*", ""), n) not in published for s, n, _ in declarations) == 6
    marked_published = [f"{s}.{n}" for s, n, marked in declarations if (s.replace("*", ""), n) in published and marked]
    assert marked_published == []  # a published fact is never called an inference


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
