"""What the generated schema offers beyond Avaya's published ``ipo_mtcti3.proto`` Version 1.0.

The schema in this package states every fact of Version 1.0 and adds what the API description documents for later
releases. A user may generate the code from Avaya's own file instead (``scripts/generate-proto``); the client and the
simulator then read these flags, taken from the generated descriptors, and leave out what that schema lacks.
"""

from __future__ import annotations

from typing import Final

from google.protobuf.message import Message

from .proto import ipo_mtcti3_pb2 as pb


def _has(message: type[Message], field: str) -> bool:
    return field in message.DESCRIPTOR.fields_by_name


HAS_VERSION_INFO: Final = _has(pb.GeneralCmd, "getversioninfo") and _has(pb.GeneralData, "versioninfo")
"""GeneralCmd getversioninfo: the system's release (11.1 and later; not in Version 1.0)."""

HAS_PRESENTITY_NO_APP_HANDLER: Final = _has(pb.NotifyPresentity, "noapphandler")
"""NotifyPresentity.noapphandler (not in Version 1.0; NotifyUser has its own in every version)."""

HAS_CALL_PAYLOAD_TYPE: Final = _has(pb.CallInfo, "payload")
"""CallInfo.payload, "PayloadFull" (shown by the API description's examples; not in Version 1.0)."""
