"""Rendering of configuration notifies and execution of SubscribeCmd payloads."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from custom_components.ipoffice.mtcti3.schema import HAS_PRESENTITY_NO_APP_HANDLER

from .model import (
    ACCT,
    ADDTOCONF,
    ANSWER,
    AUTH,
    BLINDXFER,
    COMPLETECONF,
    COMPLETEXFER,
    CONFMEMBER,
    DIAL,
    DIGITS,
    DROP,
    EC500,
    FINISH,
    FORCECLEAR,
    HOLD,
    MUTEOFF,
    MUTEON,
    PARK,
    PRIO,
    PRIVOFF,
    PRIVON,
    RECOFF,
    RECON,
    RECPAUSE,
    REDIRECT,
    SETUPXFER,
    TAG,
    UNHOLD,
    USER_FEATURES,
    Appearance,
    Call,
    CallError,
    ConfMember,
    D,
    Endpoint,
    S,
    SystemModel,
)
from .scenario import Queue, QueueMember, User

if TYPE_CHECKING:
    from .session import Session, Subscription

A = pb.CallFunction.Action
SERVICE_MODES = {1: "Active", 2: "NS", 3: "OOS"}
SERVICE_MODE_VALUES = {v: k for k, v in SERVICE_MODES.items()}

INVALID_PAYLOAD = 5002
USERNOTFOUND = 7
NOTALLOWED = 9  # a hot-desk login with a wrong login code
NOTFOUND = 4

# ---------------------------------------------------------------------------------------------------- render


def render_lines(model: SystemModel, flags: int, kind: str, users=None, queues=None) -> pb.NotifyLines:  # type: ignore[no-untyped-def]
    """A NotifyLines listing ``users``/``queues`` (default: all) as add/delete/change per ``flags``."""
    body = pb.NotifyLines(flags=(0x01 if flags & 0x04 else 0) | 0x02)
    user_list: list[User] = list(model.users.values()) if users is None else users
    queue_list: list[Queue] = list(model.queues.values()) if queues is None else queues
    if flags & 0x01:
        target = {"add": body.adduser, "delete": body.deleteuser, "change": body.changeuser}[kind]
        target.extend(pb.LinesUser(guid=u.guid, extn=u.extn, name=u.name) for u in user_list)
    if flags & 0x02:
        qtarget = {"add": body.addqueue, "delete": body.deletequeue, "change": body.changequeue}[kind]
        qtarget.extend(pb.LinesQueue(guid=q.guid, extn=q.extn, name=q.name) for q in queue_list)
    return body


def render_user(model: SystemModel, user: User, flags: int) -> pb.NotifyUser:
    """The NotifyUser snapshot of ``user`` for a subscription with ``flags``."""
    body = pb.NotifyUser(
        extn=user.extn,
        name=user.name,
        katakananame=user.katakana_name,
        email=user.email,
        fullname=user.fullname,
        featuresavailable=USER_FEATURES,
        language=user.language,
        dnd=user.dnd,
        barred=user.barred,
        xdirectory=user.xdirectory,
        voicemail=user.voicemail,
        loggedinextn="" if user.loggedoff else user.loggedinextn,
        extnfault=user.extnfault,
        loggedoff=user.loggedoff,
        ec500=user.ec500,
        offswitch=user.offswitch,
    )
    if flags & 0x01:
        body.mailbox.CopyFrom(
            pb.Mailbox(newmessages=user.mailbox_new, oldmessages=user.mailbox_old, savedmessages=user.mailbox_saved)
        )
    if flags & 0x02:
        body.fwdu, body.fwdb, body.fwdna, body.fwdhg = user.fwdu, user.fwdb, user.fwdna, user.fwdhg
        body.fwdunumber, body.fwdbnumber, body.fwdtovm = user.fwdunumber, user.fwdbnumber, user.fwdtovm
    if flags & 0x04:
        body.app = user.app
        body.noapphandler = user.app_handlers == 0
    if flags & 0x08 and user.absence_set:
        body.absence.CopyFrom(pb.Absence(msg=user.absence_msg, str=user.absence_str))
    return body


def render_queue(queue: Queue, flags: int) -> pb.NotifyQueue:
    """The NotifyQueue snapshot of ``queue`` for a subscription with ``flags``."""
    body = pb.NotifyQueue(
        extn=queue.extn,
        name=queue.name,
        katakananame=queue.katakanaaname,
        email=queue.email,
        ringmode=queue.ringmode,
        noanswertime=queue.noanswertime,
        voicemail=queue.voicemail,
        voicemailtime=queue.voicemailtime,
        servicemode=SERVICE_MODE_VALUES.get(queue.servicemode, 0),  # type: ignore[arg-type]
    )
    if flags & 0x02:
        body.queuemembers.CopyFrom(
            pb.QueueMembers(member=[pb.QueueMember(extn=m.extn, disabled=m.disabled) for m in queue.members])
        )
    if flags & 0x01:
        body.mailbox.CopyFrom(
            pb.Mailbox(newmessages=queue.mailbox_new, oldmessages=queue.mailbox_old, savedmessages=queue.mailbox_saved)
        )
    return body


def find_presentity(model: SystemModel, presentity: str) -> User | None:
    """A presentity is an extension, a user name or an email address."""
    for user in model.users.values():
        if presentity in (user.extn, user.name) or (user.email and presentity == user.email):
            return user
    return None


def render_presentity(model: SystemModel, key: tuple[str, int], flags: int) -> pb.NotifyPresentity:
    presentity, lref = key
    entry = pb.NotifyPresentity(presentity="" if lref else presentity, lref=lref)
    user = find_presentity(model, presentity)
    if user is None:
        entry.presentity = presentity
        entry.phonestate = 8
        return entry
    entry.sac = user.dnd
    entry.phonestate = model.phonestate(user)
    if user.absence_set:
        entry.absence.CopyFrom(pb.Absence(msg=user.absence_msg, str=user.absence_str))
    entry.fwdu = user.fwdu
    if flags & 0x01:
        entry.vmunread_messages = user.mailbox_new
    if flags & 0x02:
        entry.app = user.app
        if HAS_PRESENTITY_NO_APP_HANDLER:
            entry.noapphandler = user.app_handlers == 0
    else:
        entry.app = user.app if user.app_handlers else "Offline"
    return entry


# ---------------------------------------------------------------------------------------------------- user


def _bool_set(value: str) -> bool:
    return value.strip() not in ("", "0", "false", "off")


def update_user(session: Session, sub: Subscription, upd: pb.UpdateUser) -> int:
    """Apply an UpdateUser; returns the result code. One NotifyUser follows any visible change."""
    user = sub.user
    assert user is not None
    model = session.sim.model
    changes: dict[str, object] = {}
    if upd.HasField("sac"):
        changes["dnd"] = upd.sac.set != 0
    if upd.HasField("absence"):
        if upd.absence.set:
            absence = upd.absence.absence
            changes.update(absence_set=True, absence_msg=absence.msg or 11, absence_str=absence.str[:21])
        else:
            changes.update(absence_set=False, absence_msg=0, absence_str="")
    if upd.HasField("ec500"):
        changes["ec500"] = upd.ec500.set != 0
    for code in upd.shortcodedata:
        result = _shortcode(user, code.code, code.val, changes)
        if result:
            return result
    if upd.HasField("loginextn"):
        login = upd.loginextn
        if login.extn and user.login_code and login.password != user.login_code:
            return NOTALLOWED
        if login.extn:
            teleworker = login.teleworkerconnection.number if login.HasField("teleworkerconnection") else ""
            changes.update(loggedinextn=login.extn, loggedoff=False, teleworker=teleworker)
        else:
            changes.update(loggedinextn="", loggedoff=True, teleworker="")
    if upd.HasField("app"):
        if len(upd.app.value) > 34:
            return INVALID_PAYLOAD
        changes["app"] = upd.app.value
        if upd.app.makelive:
            session.set_activapp(sub, on=True)
        elif upd.app.makedead:
            session.set_activapp(sub, on=False)
    if upd.HasField("fwdu"):
        changes["fwdu"] = upd.fwdu.set
        if upd.fwdu.fwdu_number:
            changes["fwdunumber"] = upd.fwdu.fwdu_number
        changes["fwdtovm"] = upd.fwdu.fwdtovm
    if changes:
        model.update_user(user, **changes)
    return 0


def _shortcode(user: User, code: int, value: str, changes: dict[str, object]) -> int:
    simple: dict[int, tuple[str, object]] = {
        0: ("fwdu", True),
        1: ("fwdu", False),
        2: ("fwdb", True),
        3: ("fwdb", False),
        4: ("fwdna", True),
        5: ("fwdna", False),
        7: ("dnd", True),
        8: ("dnd", False),
        17: ("voicemail", True),
        18: ("voicemail", False),
        166: ("ec500", True),
        167: ("ec500", False),
    }
    if code in simple:
        key, val = simple[code]
        changes[key] = val
    elif code == 6:
        changes["fwdunumber"] = value
    elif code == 114:
        changes["fwdbnumber"] = value
    elif code == 9:
        changes["dnd_exceptions"] = [*user.dnd_exceptions, value]
    elif code == 10:
        changes["dnd_exceptions"] = []
    elif code == 94:
        if not value.strip().isdigit():
            return INVALID_PAYLOAD
        changes["noanswertime"] = int(value)
    elif code == 70:
        match = re.fullmatch(r";(\d*),(\d*),(\d*)", value.strip())
        if match is None:
            return INVALID_PAYLOAD
        new, old, saved = (int(x or 0) for x in match.groups())
        changes.update(mailbox_new=new, mailbox_old=old, mailbox_saved=saved)
    elif code == 109:
        parts = value.split(",", 2)
        if len(parts) < 2 or not parts[1].strip().isdigit():
            return INVALID_PAYLOAD
        if _bool_set(parts[0]):
            text = parts[2] if len(parts) > 2 else ""
            changes.update(absence_set=True, absence_msg=int(parts[1]), absence_str=text[:21])
        else:
            changes.update(absence_set=False, absence_msg=0, absence_str="")
    else:
        return INVALID_PAYLOAD
    return 0


# ---------------------------------------------------------------------------------------------------- queue


def update_queue(model: SystemModel, queue: Queue | None, upd: pb.UpdateQueue) -> int:
    """Apply an UpdateQueue; returns the result code."""
    assert queue is not None
    changes: dict[str, object] = {}
    if upd.HasField("setservicemode"):
        mode = SERVICE_MODES.get(upd.setservicemode.servicemode)
        if mode is None:
            return INVALID_PAYLOAD
        changes["servicemode"] = mode
    if upd.HasField("setvoicemail"):
        changes["voicemail"] = upd.setvoicemail.enabled
    members = [QueueMember(m.extn, m.disabled) for m in queue.members]
    touched = False
    if upd.HasField("members"):
        members = [QueueMember(m.extn, m.disabled) for m in upd.members.member]
        touched = True
    for add in upd.addmember:
        touched = True
        for member in members:
            if member.extn == add.extn:
                member.disabled = add.disabled
                break
        else:
            members.append(QueueMember(add.extn, add.disabled))
    for delete in upd.deletemember:
        touched = True
        if not any(m.extn == delete.extn for m in members):
            return NOTFOUND
        members = [m for m in members if m.extn != delete.extn]
    if touched:
        if any(model.find_user(m.extn) is None for m in members):
            return USERNOTFOUND
        changes["members"] = members
    if changes:
        model.update_queue(queue, **changes)
    return 0


# ---------------------------------------------------------------------------------------------------- calls

_ACTION_BITS = {
    A.DropCall: DROP,
    A.AnswerCall: ANSWER,
    A.HoldCall: HOLD,
    A.UnHoldCall: UNHOLD,
    A.BlindTransfer: BLINDXFER,
    A.Redirect: REDIRECT,
    A.Dial: DIAL,
    A.Park: PARK,
    A.SetupTransfer: SETUPXFER,
    A.SetupConf: SETUPXFER,
    A.CompleteTransfer: COMPLETEXFER,
    A.CompleteConf: COMPLETECONF,
    A.AddToConf: ADDTOCONF,
    A.MemberFunction: CONFMEMBER,
    A.SetTag: TAG,
    A.SetAccountCode: ACCT,
    A.PushToEC500: EC500,
    A.GenerateDigits: DIGITS,
    A.ForceClear: FORCECLEAR,
    A.SetAuthCode: AUTH,
    A.CallRecordingOn: RECON,
    A.CallRecordingOff: RECOFF,
    A.PrivacyOn: PRIVON,
    A.PrivacyOff: PRIVOFF,
    A.MuteOn: MUTEON,
    A.MuteOff: MUTEOFF,
    A.AgentRecordingControl: RECPAUSE,
    A.SetPriority: PRIO,
    A.Finish: FINISH,
}
_DIGITS = re.compile(r"[0-9*#]+")


def _owner(model: SystemModel, sub: Subscription) -> User | None:
    return sub.user if sub.kind == "user" else None


def call_control(model: SystemModel, sub: Subscription, ucc: pb.UpdateCallControl) -> int:
    """Execute one UpdateCallControl on ``sub``; returns the result code (raises CallError)."""
    if ucc.HasField("makecall"):
        if sub.kind != "user" or sub.user is None:
            raise CallError(616, "MakeCall needs a user line")
        make_call(model, sub.user, ucc.makecall, ucc.referencecallid)
        return 0
    if ucc.HasField("unparkcall"):
        if sub.kind != "user" or sub.user is None:
            raise CallError(616, "UnPark needs a user line")
        model._unpark(sub.user, ucc.unparkcall.parkid, ucc.referencecallid)
        return 0
    if not ucc.HasField("callfunction"):
        raise CallError(INVALID_PAYLOAD, "no command")
    app = _find(model, sub, ucc.callid, ucc.referencecallid)
    if ucc.referencecallid and ucc.callid and app.referencecallid != ucc.referencecallid:
        app.referencecallid = ucc.referencecallid  # "MTCTI App may assert it or change it at any time"
        model._touch(app)
    function(model, app, ucc.callfunction)
    return 0


def _find(model: SystemModel, sub: Subscription, callid: int, referencecallid: int) -> Appearance:
    for call in model.calls:
        for app in call.apps:
            if not sub.owns(app):
                continue
            if (callid and app.callid == callid) or (
                not callid and referencecallid and app.referencecallid == referencecallid
            ):
                return app
    raise CallError(602, "call not found")


def make_call(model: SystemModel, user: User, mc: pb.MakeCall, referencecallid: int) -> Appearance:
    model._check_phone(user)
    adv = mc.advanced
    if mc.HasField("advanced"):
        if adv.accountcode and adv.accountcode not in model.account_codes:
            raise CallError(604, "account code not valid")
        if adv.authcode and adv.authcode not in model.auth_codes:
            raise CallError(605, "auth code not valid")
    if len(mc.target) > 78:
        raise CallError(608, "target too long")
    if sum(1 for a in model.user_apps(user)) >= 4:
        raise CallError(603, "no free call appearance")
    call = model._new_call(model.user_endpoint(user))
    app = model._new_app(call, "user", user.guid, "a", S.DIALTONE, D.OUTBOUND)
    app.referencecallid = referencecallid
    call.dialtype = mc.type
    if mc.HasField("advanced"):
        call.accountcode = adv.accountcode
        call.tag = adv.tag[:127]
        call.withholdcli = adv.withholdcli
        app.privacy = adv.privacy
        app.authcode = adv.authcode
    for other in model.user_apps(user):
        if other is not app and other.state == S.CONNECTED and other.call.conference is None:
            other.state = S.ONHOLD
            model._set_activeheld(other.call, other, held=True)
            model._touch_call(other.call)
    if mc.target:
        _dial(model, app, mc.target, mc.type)
    return app


def _dial(model: SystemModel, app: Appearance, target: str, dialtype: int = 0) -> None:
    call = app.call
    call.dialled = target
    app.calledparty = target
    if dialtype == 116:
        call.b = Endpoint("conf", target, f"Conf {target}")
        call.conference = [ConfMember(next(model._lrefs), model.user_endpoint(model.users[app.owner]))]  # type: ignore[index]
        app.state = S.CONNECTED
        model._touch_call(call)
        return
    if not _DIGITS.fullmatch(target):
        app.state = S.FAILED
        app.failedcause = pb.CallInfo.FailedCause.UNALLOCATEDNUMBER
        model._touch(app)
        return
    app.state = S.DIALLING
    if model.find_user(target) is None and model.find_queue(target) is None:
        call.trunk = (pb.TrunkInfo.TrunkType.TrunkSIP, "")
    try:
        model._route(call, target, None)
    except CallError:
        app.state = S.FAILED
        app.failedcause = pb.CallInfo.FailedCause.REJECTED
        model._touch(app)


def _transfer_target(target: str) -> tuple[int, str]:
    if not target or len(target) > 78:
        raise CallError(608, "transfer target must be 1..78 characters")
    match = re.fullmatch(r"/(\d+)/(.+)", target)
    if match:
        return int(match.group(1)), match.group(2)
    if not _DIGITS.fullmatch(target):
        raise CallError(612, f"invalid transfer target {target!r}")
    return 0, target


def blind_transfer(model: SystemModel, app: Appearance, target: str) -> None:
    """Send the call (of ``app``) to ``target``, including the /type/destination forms."""
    kind, dest = _transfer_target(target)
    call = app.call
    user = model._app_user(app)
    if kind == 0 and user is not None and dest == user.extn:
        raise CallError(612, "cannot transfer to yourself")
    # The line that transfers leaves the call; a queue keeps following it.
    leaving = [a for a in call.apps if a.owner_kind == "user" and (a is app or app.owner_kind != "user")]
    if call.a.kind == "user" and app.owner_kind == "user" and app.role == "a":
        # The originator transfers: the far end becomes the a-side.
        if call.b is None:
            raise CallError(609, "nothing to transfer")
        call.a, call.b = call.b, None
    for other in leaving:
        if other.role == "a" and app.owner_kind != "user":
            continue
        model._lose(other, dropped=other is app, description="transferred")
    call.conference = None
    call.queue_extn = ""
    for other in call.apps:
        other.activeheld = False
        other.parkslot = ""
    if kind == 102:
        queue = next((a for a in call.apps if a.owner_kind == "queue"), None)
        call.vm_box = None
        call.b = Endpoint("vm", dest)
        for other in call.apps:
            other.state = S.ANSWEREDBYVOICEMAIL if other.role != "a" else S.CONNECTED
        if queue is None and user is not None:
            call.vm_box = ("user", user.guid)
        model._touch_call(call)
        return
    if kind == 116:
        conf_number = dest.split(";", 1)[0]
        call.b = Endpoint("conf", conf_number, f"Conf {conf_number}")
        for other in call.apps:
            other.state = S.CONNECTED
        model._touch_call(call)
        return
    call.b = None
    for other in call.apps:
        if other.owner_kind == "queue" and other.state not in (S.QUEUEING, S.RINGING):
            other.state = S.QUEUEING
    model._route(call, dest, model.user_endpoint(user) if user is not None else None)
    if _went_out(call):
        for other in call.apps:
            if other.owner_kind == "queue":
                other.state = S.CONNECTED
        model._touch_call(call)


def _went_out(call: Call) -> bool:
    return call.b is not None and call.b.kind == "external"


def _partner(model: SystemModel, app: Appearance, fn: pb.CallFunction) -> Appearance:
    if fn.callinst:
        inst = fn.callinst[0]
        for other in model.user_apps(model.users[app.owner]):  # type: ignore[index]
            if other is app:
                continue
            if (inst.callid and other.callid == inst.callid) or (
                not inst.callid and inst.referencecallid and other.referencecallid == inst.referencecallid
            ):
                return other
        raise CallError(614, "callinst not found")
    if app.relatedcallid:
        related = model.find_app(app.relatedcallid)
        if related is not None:
            return related
    raise CallError(614, "no related call")


def _setup(model: SystemModel, app: Appearance, arg: str, pend: str) -> None:
    user = model._app_user(app)
    if user is None:
        raise CallError(616, "user lines only")
    if app.state not in (S.CONNECTED, S.ONHOLD) or (app.call.conference is not None and pend == "transfer"):
        raise CallError(609, "call cannot be consulted now")
    if len(arg) > 78:
        raise CallError(608, "target too long")
    if len(model.user_apps(user)) >= 4:
        raise CallError(603, "no free call appearance")
    app.state = S.ONHOLDPENDTRANSFER if pend == "transfer" else S.ONHOLDPENDCONF
    app.pend = pend
    model._set_activeheld(app.call, app, held=True)
    model._touch_call(app.call)
    call = model._new_call(model.user_endpoint(user))
    consult = model._new_app(call, "user", user.guid, "a", S.DIALTONE, D.OUTBOUND)
    consult.relatedcallid = app.callid
    app.relatedcallid = consult.callid
    if arg:
        _dial(model, consult, arg)


def _far(call_a: Appearance) -> Endpoint | None:
    call = call_a.call
    return call.b if call_a.role == "a" else call.a


def complete_transfer(model: SystemModel, app: Appearance, fn: pb.CallFunction, *, conf: bool) -> None:
    other = _partner(model, app, fn)
    held, consult = (app, other) if app.pend else (other, app)
    if consult.state not in (S.CONNECTED, S.RINGBACK) or consult.call.b is None:
        raise CallError(615, "consultation call is not established")
    hcall, ccall = held.call, consult.call
    p2 = ccall.b if consult.role == "a" else ccall.a
    assert p2 is not None
    if conf:
        user = model.users[held.owner]  # type: ignore[index]
        p1 = _far(held)
        members = [ConfMember(next(model._lrefs), model.user_endpoint(user))]
        if p1 is not None:
            members.append(ConfMember(next(model._lrefs), p1, direction=held.direction))
        members.append(ConfMember(next(model._lrefs), p2, direction=D.OUTBOUND, calledparty=p2.number))
        hcall.conference = members
        held.state = S.CONNECTED
        held.pend = ""
        held.relatedcallid = 0
    # Move p2's own appearance (a user) over to the held call.
    for capp in list(ccall.apps):
        if capp is consult:
            continue
        ccall.apps.remove(capp)
        capp.call = hcall
        capp.role = "b" if capp.role in ("b", "ring") and held.role == "b" else capp.role
        hcall.apps.append(capp)
    consult.relatedcallid = 0
    held.relatedcallid = 0 if not conf else held.relatedcallid
    model._lose(consult, dropped=True, description="conference" if conf else "transferred")
    ccall.ended = True
    if not conf:
        if held.role == "b":
            hcall.b = p2
        else:
            hcall.a = p2
        for capp in hcall.apps:
            if capp is not held and capp.owner_kind == "user" and capp.role in ("a", "b"):
                capp.role = "a" if held.role == "a" and capp.owner == p2.guid else capp.role
        model._lose(held, dropped=True, description="transferred")
    for capp in hcall.apps:
        capp.activeheld = False
        if capp.state in (S.ONHOLD, S.RINGBACK) and capp is not held and capp.owner_kind == "user":
            capp.state = S.CONNECTED if consult.state == S.CONNECTED else capp.state
    model._touch_call(hcall)


def function(model: SystemModel, app: Appearance, fn: pb.CallFunction) -> None:
    """Execute a CallFunction on ``app`` (raises CallError)."""
    action = fn.action
    arg = fn.arg1
    features = model.features(app)
    call = app.call
    bit = _ACTION_BITS.get(action)
    if bit is None:
        raise CallError(616, f"unsupported action {action}")
    # Checks that come before "not available now".
    if action == A.HoldCall and app.state in (S.ONHOLD, S.ONHOLDPENDCONF, S.ONHOLDPENDTRANSFER):
        raise CallError(617, "already on hold")
    if action == A.UnHoldCall and app.state == S.CONNECTED:
        raise CallError(617, "already active")
    if action == A.SetPriority and app.owner_kind == "queue" and arg not in ("1", "2", "3"):
        raise CallError(608, "priority must be '1', '2' or '3'")
    if action == A.Finish and app.owner_kind == "queue" and arg not in ("", "1"):
        raise CallError(608, "Finish takes '' or '1'")
    if action in (A.CallRecordingOn, A.CallRecordingOff) and app.recording == (action == A.CallRecordingOn):
        raise CallError(617, "recording already in that state")
    if action in (A.PrivacyOn, A.PrivacyOff) and app.privacy == (action == A.PrivacyOn):
        raise CallError(617, "privacy already in that state")
    if action in (A.MuteOn, A.MuteOff) and call.conference is None:
        raise CallError(610, "mute needs a conference")
    if action in (A.MuteOn, A.MuteOff) and app.mute == (action == A.MuteOn):
        raise CallError(617, "mute already in that state")
    if not features & bit:
        raise CallError(609, f"{A.Name(action)} is not available in state {S.Name(app.state)}")
    user = model._app_user(app)
    if action == A.DropCall:
        model._drop(app)
    elif action == A.ForceClear:
        model._end_call(call, app, "force cleared")
    elif action == A.AnswerCall:
        assert user is not None
        if user.loggedoff:
            raise CallError(600, "user has no phone")
        model._answer_app(app)
    elif action == A.HoldCall:
        model._hold(app)
    elif action == A.UnHoldCall:
        model._unhold(app)
    elif action in {A.BlindTransfer, A.Redirect}:
        blind_transfer(model, app, arg)
    elif action == A.Dial:
        if not arg or len(arg) > 78 or not _DIGITS.fullmatch(arg):
            raise CallError(608, "digits")
        dialled = call.dialled + arg
        call.dialled = dialled
        app.state = S.DIALLING
        model._touch(app)
        if model.find_user(dialled) or model.find_queue(dialled) or arg.endswith("#") or len(dialled) >= 11:
            _dial(model, app, dialled.rstrip("#"))
    elif action == A.Park:
        model._park(app, arg)
    elif action in (A.SetupTransfer, A.SetupConf):
        _setup(model, app, arg, "transfer" if action == A.SetupTransfer else "conf")
    elif action in (A.CompleteTransfer, A.CompleteConf):
        complete_transfer(model, app, fn, conf=action == A.CompleteConf)
    elif action == A.AddToConf:
        if call.conference is None:
            raise CallError(609, "not a conference")
        if not arg or len(arg) > 78:
            raise CallError(608, "conference target must be 1..78 characters")
        target_user = model.find_user(arg)
        if target_user is not None:
            endpoint = model.user_endpoint(target_user)
            if call.app("user", target_user.guid) is None:
                new = model._new_app(call, "user", target_user.guid, "b", S.CONNECTED, D.INBOUND)
                new.callingparty = model.user_endpoint(user) if user else None
            call.conference.append(ConfMember(next(model._lrefs), endpoint, direction=D.OUTBOUND, calledparty=arg))
        elif _DIGITS.fullmatch(arg):
            call.conference.append(
                ConfMember(next(model._lrefs), Endpoint("external", arg), direction=D.OUTBOUND, calledparty=arg)
            )
        else:
            call.conference.append(
                ConfMember(
                    next(model._lrefs),
                    Endpoint("external", arg),
                    state=S.FAILED,
                    direction=D.OUTBOUND,
                    calledparty=arg,
                    failedcause=pb.CallInfo.FailedCause.UNALLOCATEDNUMBER,
                )
            )
        model._touch_call(call)
    elif action == A.MemberFunction:
        if call.conference is None:
            raise CallError(609, "not a conference")
        data = fn.memberfunctiondata
        member = next((m for m in call.conference if m.lref == data.lref), None)
        if member is None:
            raise CallError(614, "no such conference member")
        mfa = pb.MemberFunctionData.Action
        if data.action == mfa.DropCall:
            call.conference.remove(member)
            if member.endpoint.guid:
                mapp = call.app("user", member.endpoint.guid)
                if mapp is not None:
                    model._lose(mapp, description="dropped from conference")
            model._conference_changed(call)
        elif data.action in (mfa.MuteOn, mfa.MuteOff):
            member.mute = data.action == mfa.MuteOn
            model._touch_call(call)
        else:
            raise CallError(616, "unknown member function")
    elif action == A.SetTag:
        call.tag = arg.split("\x00", 1)[0][:127]
        model._touch_call(call)
    elif action == A.SetAccountCode:
        if len(arg) > 15:
            raise CallError(608, "account code too long")
        if arg and arg not in model.account_codes:
            raise CallError(604, "account code not valid")
        call.accountcode = arg
        model._touch_call(call)
    elif action == A.SetAuthCode:
        if len(arg) > 15:
            raise CallError(608, "auth code too long")
        if arg and arg not in model.auth_codes:
            raise CallError(605, "auth code not valid")
        app.authcode = arg
        model._touch(app)
    elif action in (A.CallRecordingOn, A.CallRecordingOff):
        app.recording = action == A.CallRecordingOn
        model._touch(app)
    elif action in (A.PrivacyOn, A.PrivacyOff):
        app.privacy = action == A.PrivacyOn
        model._touch(app)
    elif action in (A.MuteOn, A.MuteOff):
        app.mute = action == A.MuteOn
        for member in call.conference or []:
            if user is not None and member.endpoint.guid == user.guid:
                member.mute = app.mute
        model._touch_call(call)
    elif action == A.AgentRecordingControl:
        if not fn.HasField("agentrecording"):
            raise CallError(608, "agentrecording is required")
        control = fn.agentrecording
        if control.pause == control.resume:
            raise CallError(608, "agentrecording needs pause or resume")
        if app.recordingpaused == control.pause:
            raise CallError(617, "recording already in that state")
        app.recordingpaused = control.pause
        model._touch(app)
    elif action == A.PushToEC500:
        if user is None or not user.ec500 or not user.mobile:
            raise CallError(612, "no mobile twin")
        model._touch(app)
    elif action == A.GenerateDigits:
        if not arg or len(arg) > 32 or not _DIGITS.fullmatch(arg):
            raise CallError(608, "digits must be 1..32 of 0-9 * #")
    elif action == A.SetPriority:
        call.priority = int(arg)
        model._touch_call(call)
    elif action == A.Finish:
        app.finished = True
        model._lose(app, description="finished")
