"""System scenarios: the users, queues and codes of a simulated IP Office.

A scenario is a YAML file (see ``scenarios/default.yaml``)::

    system: {name: Demo Office, release: 11.1.0.0, build: 600}
    account_codes: ["1000", "2000"]
    auth_codes: ["4321"]
    emergency_numbers: ["999", "112"]   # calls out to these are emergency calls (default: 999, 112, 911)
    users:
      - {extn: "2001", name: Alice Smith, email: alice@example.com, dnd: false, ...}
    queues:
      - {extn: "2501", name: Sales, members: ["2001", {extn: "2002", disabled: true}]}

Every user or queue field of :class:`User` and :class:`Queue` may be given. GUIDs are 16 bytes; unless a ``guid``
(32 hex characters) is given they are derived from the system name and the entry's position, so they are stable for
a scenario.
"""

from __future__ import annotations

import copy
import random
import uuid
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

EMERGENCY_NUMBERS = ("999", "112", "911")  # the default: calls out to these are emergency calls
_GUID_NAMESPACE = uuid.UUID("6f1d8f52-3c1e-4c61-9a5e-1b0f7a1c2d3e")


def make_guid(system: str, kind: str, index: int) -> bytes:
    """Return a stable 16-byte GUID for the ``index``-th ``kind`` of ``system``."""
    return uuid.uuid5(_GUID_NAMESPACE, f"{system}/{kind}/{index}").bytes


@dataclass
class User:
    """A user of the system (its configuration and status)."""

    extn: str
    name: str
    guid: bytes = b""
    fullname: str = ""
    katakana_name: str = ""
    email: str = ""
    language: str = "eng"
    dnd: bool = False
    barred: bool = False
    xdirectory: bool = False
    voicemail: bool = True
    loggedinextn: str = ""
    extnfault: bool = False
    loggedoff: bool = False
    absence_msg: int = 0
    absence_str: str = ""
    absence_set: bool = False
    mailbox_new: int = 0
    mailbox_old: int = 0
    mailbox_saved: int = 0
    app: str = ""
    ec500: bool = False
    mobile: str = ""
    fwdu: bool = False
    fwdb: bool = False
    fwdna: bool = False
    fwdhg: bool = False
    fwdunumber: str = ""
    fwdbnumber: str = ""
    fwdtovm: bool = False
    offswitch: bool = True
    login_code: str = ""  # asked for by a hot-desk login (UpdateUserLoginExtn.password) when set
    teleworker: str = ""  # the number the user's phone is reached at, logged in as a teleworker
    noanswertime: int = 15
    dnd_exceptions: list[str] = field(default_factory=list)
    app_handlers: int = 0  # live subscriptions that registered as an application (ACTIVAPP / makelive)

    def __post_init__(self) -> None:
        if not self.loggedinextn and not self.loggedoff:
            self.loggedinextn = self.extn
        if not self.fullname:
            self.fullname = self.name


@dataclass
class QueueMember:
    """A member (agent) of a queue."""

    extn: str
    disabled: bool = False


@dataclass
class Queue:
    """A queue (hunt group)."""

    extn: str
    name: str
    guid: bytes = b""
    katakanaaname: str = ""
    email: str = ""
    ringmode: int = 2  # 0 ringidle, 1 sequential, 2 group
    noanswertime: int = 15
    voicemail: bool = True
    voicemailtime: int = 45
    servicemode: str = "Active"  # Active, NS, OOS
    members: list[QueueMember] = field(default_factory=list)
    mailbox_new: int = 0
    mailbox_old: int = 0
    mailbox_saved: int = 0


@dataclass
class Scenario:
    """Everything a simulated system starts with."""

    name: str = "Demo Office"
    release: str = "11.1.0.0"
    build: int = 600
    users: list[User] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    account_codes: list[str] = field(default_factory=list)
    auth_codes: list[str] = field(default_factory=list)
    emergency_numbers: list[str] = field(default_factory=lambda: list(EMERGENCY_NUMBERS))

    def copy(self) -> Scenario:
        """A deep copy (the model mutates its own copy)."""
        return copy.deepcopy(self)


_USER_FIELDS = {f.name for f in fields(User)} - {"guid", "app_handlers"}
_QUEUE_FIELDS = {f.name for f in fields(Queue)} - {"guid", "members"}


def _guid(value: Any, system: str, kind: str, index: int) -> bytes:
    if value:
        return bytes.fromhex(str(value))
    return make_guid(system, kind, index)


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """Build a :class:`Scenario` from the parsed YAML document."""
    system = data.get("system") or {}
    scenario = Scenario(
        name=str(system.get("name", "Demo Office")),
        release=str(system.get("release", "11.1.0.0")),
        build=int(system.get("build", 600)),
        account_codes=[str(c) for c in data.get("account_codes") or []],
        auth_codes=[str(c) for c in data.get("auth_codes") or []],
        emergency_numbers=[str(n) for n in data.get("emergency_numbers", EMERGENCY_NUMBERS) or []],
    )
    for index, entry in enumerate(data.get("users") or []):
        kwargs = {k: v for k, v in entry.items() if k in _USER_FIELDS}
        kwargs["extn"] = str(kwargs["extn"])
        for key in ("fwdunumber", "fwdbnumber", "mobile", "loggedinextn", "login_code", "teleworker"):
            if key in kwargs:
                kwargs[key] = str(kwargs[key])
        absence = entry.get("absence")
        if absence:
            kwargs["absence_set"] = True
            kwargs["absence_msg"] = int(absence.get("msg", 11))
            kwargs["absence_str"] = str(absence.get("str", ""))
        mailbox = entry.get("mailbox")
        if mailbox:
            kwargs["mailbox_new"] = int(mailbox.get("new", 0))
            kwargs["mailbox_old"] = int(mailbox.get("old", 0))
            kwargs["mailbox_saved"] = int(mailbox.get("saved", 0))
        user = User(**kwargs)
        user.guid = _guid(entry.get("guid"), scenario.name, "user", index)
        scenario.users.append(user)
    for index, entry in enumerate(data.get("queues") or []):
        kwargs = {k: v for k, v in entry.items() if k in _QUEUE_FIELDS}
        kwargs["extn"] = str(kwargs["extn"])
        queue = Queue(**kwargs)
        mailbox = entry.get("mailbox")
        if mailbox:
            queue.mailbox_new = int(mailbox.get("new", 0))
            queue.mailbox_old = int(mailbox.get("old", 0))
            queue.mailbox_saved = int(mailbox.get("saved", 0))
        queue.guid = _guid(entry.get("guid"), scenario.name, "queue", index)
        for member in entry.get("members") or []:
            if isinstance(member, dict):
                queue.members.append(QueueMember(str(member["extn"]), bool(member.get("disabled", False))))
            else:
                queue.members.append(QueueMember(str(member)))
        scenario.queues.append(queue)
    return scenario


def load_scenario(path: str | Path | None) -> Scenario:
    """Load a scenario file; ``None`` loads the bundled default office (12 users, 3 queues)."""
    if path is None:
        text = resources.files("simulator").joinpath("scenarios/default.yaml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise TypeError("a scenario file must hold a mapping")
    return scenario_from_dict(data)


_FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Oliver",
    "Sophia",
    "Elijah",
    "Isabella",
    "James",
    "Mia",
    "William",
    "Amelia",
    "Benjamin",
    "Harper",
    "Lucas",
    "Evelyn",
    "Henry",
    "Abigail",
    "Alexander",
    "Emily",
    "Michael",
    "Ella",
    "Daniel",
    "Grace",
    "Matthew",
    "Chloe",
    "Samuel",
    "Lily",
    "David",
    "Hannah",
]
_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Hill",
    "Green",
    "Adams",
    "Baker",
]
_QUEUE_WORDS = [
    "Sales",
    "Support",
    "Reception",
    "Billing",
    "Service",
    "Accounts",
    "Helpdesk",
    "Orders",
    "Returns",
    "Technical",
]


def generate_scenario(users: int = 3000, queues: int = 150, *, seed: int = 1, name: str = "Large Site") -> Scenario:
    """Generate a large system: ``users`` users (extensions from 10000) and ``queues`` queues (from 80000).

    Each queue gets 5-20 members. A few users have DND, forwarding, absence or voicemail messages.
    """
    rng = random.Random(seed)
    scenario = Scenario(name=name, account_codes=["1000", "2000", "3000"], auth_codes=["4321"])
    for index in range(users):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        extn = str(10000 + index)
        user = User(
            extn=extn,
            name=f"{first} {last} {extn}",
            email=f"{first.lower()}.{last.lower()}{index}@example.com",
            guid=make_guid(name, "user", index),
        )
        roll = rng.random()
        if roll < 0.05:
            user.dnd = True
        elif roll < 0.08:
            user.fwdu, user.fwdunumber = True, f"0770090{index % 10000:04d}"
        elif roll < 0.10:
            user.absence_set, user.absence_msg, user.absence_str = True, 3, "14:00"
        if rng.random() < 0.2:
            user.mailbox_new = rng.randint(1, 5)
        scenario.users.append(user)
    for index in range(queues):
        queue = Queue(
            extn=str(80000 + index),
            name=f"{rng.choice(_QUEUE_WORDS)} {index + 1}",
            guid=make_guid(name, "queue", index),
        )
        if users:
            count = min(users, rng.randint(5, 20))
            for member in rng.sample(range(users), count):
                queue.members.append(QueueMember(str(10000 + member), disabled=rng.random() < 0.1))
        scenario.queues.append(queue)
    return scenario
