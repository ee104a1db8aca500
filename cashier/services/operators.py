"""Operators: roles, PIN login with a memory-hard KDF, lockout after wrong PINs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from cashier.errors import CashierError, InputError, NotAllowed
from cashier.messages import say
from cashier.services import audit
from cashier.store.models import Operator, database

MAX_FAILED_PINS = 5
# scrypt with N=2**14, r=8: 16 MiB and ~50 ms per try, cheap at a login, costly to brute-force.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32, "maxmem": 64 * 1024 * 1024}


class Role(StrEnum):
    CASHIER = "cashier"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {"cashier": "收费员", "supervisor": "收费组长", "admin": "管理员"}[self.value]

    def at_least(self, other: Role) -> bool:
        order = [Role.CASHIER, Role.SUPERVISOR, Role.ADMIN]
        return order.index(self) >= order.index(other)


class LoginError(CashierError):
    """A login that did not succeed; the message says why and what to do."""

    def __init__(self, message: str, *, attempts: int = 0) -> None:
        super().__init__(message)
        self.attempts = attempts  # wrong PINs in a row so far (0 when not counted)


@dataclass(frozen=True)
class SignedIn:
    """The operator at the counter (a plain value: screens and core pass it around)."""

    code: str
    name: str
    role: Role

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"

    def require(self, role: Role) -> None:
        if not self.role.at_least(role):
            raise NotAllowed(say("operators.needs_role", label=role.label))


def hash_pin(pin: str, salt: bytes) -> str:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, **_SCRYPT).hex()


def check_pin_format(pin: str) -> None:
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise InputError(say("operators.pin_shape"))


def may_appoint(by: SignedIn, role: Role) -> None:
    """Who may add or reset whom: a supervisor adds cashiers and supervisors; only an
    administrator adds or resets an administrator."""
    by.require(Role.ADMIN if role is Role.ADMIN else Role.SUPERVISOR)


def anyone_in_charge() -> bool:
    """An active supervisor or administrator exists (else the first one may be added freely)."""
    return (
        Operator.select()
        .where(Operator.active & Operator.role.in_([Role.SUPERVISOR.value, Role.ADMIN.value]))
        .exists()
    )


def create_operator(
    station: str,
    code: str,
    name: str,
    role: Role,
    pin: str,
    *,
    by: SignedIn | None = None,
    prac_cert_no: str | None = None,
) -> Operator:
    """Add an operator (or reset an existing one's name, role and PIN), as ``by``.

    Without ``by`` only the first person in charge of a new station may be added (or the
    training station's demo operators): audited as ``bootstrap``."""
    if not (code.isascii() and code.isalnum() and 1 <= len(code) <= 16):
        raise InputError(say("operators.code_shape"))
    check_pin_format(pin)
    salt = secrets.token_bytes(16)
    with database.atomic():
        if by is not None:
            may_appoint(by, role)
            existing = Operator.get_or_none(Operator.code == code)
            if existing is not None and existing.role != role.value:
                may_appoint(by, Role(existing.role))  # nobody demotes someone above them
        elif anyone_in_charge():
            raise NotAllowed(say("operators.needs_supervisor"))
        op, created = Operator.get_or_create(
            code=code,
            defaults={"name": name, "role": role.value, "pin_salt": salt.hex(), "pin_hash": ""},
        )
        op.name, op.role, op.pin_salt = name, role.value, salt.hex()
        op.pin_hash = hash_pin(pin, salt)
        op.failed_attempts, op.locked, op.active = 0, False, True
        if prac_cert_no is not None:  # a pharmacist's 执业资格证号 (None: kept as it was)
            cert = prac_cert_no.strip()
            if len(cert) > 50 or not cert.isprintable():
                raise InputError(say("operators.cert_shape"))
            op.prac_cert_no = cert
        op.save()
        audit.record(
            station,
            "operator.set",
            operator=by.code if by else "bootstrap",
            subject=code,
            role=role.value,
            created=created,
        )
    return op


def pharmacist(code: str) -> Operator:
    """The active operator ``code`` with a 执业资格证号: who checks a prescription."""
    op = Operator.get_or_none((Operator.code == code) & (Operator.active == True))  # noqa: E712
    if op is None:
        raise InputError(say("operators.no_operator", code=code))
    if not op.prac_cert_no:
        raise InputError(say("operators.not_pharmacist", code=code, name=op.name))
    return op


def authenticate(station: str, code: str, pin: str, *, via: str = "") -> SignedIn:
    """Check a code and PIN. Wrong PINs count; the fifth locks the operator.

    The count is kept in the database and a try is counted *before* the PIN is checked
    (one conditional UPDATE), so processes guessing in parallel get at most
    :data:`MAX_FAILED_PINS` checks between them, never one each."""
    code = code.strip()
    op = Operator.get_or_none(Operator.code == code)
    if op is None or not op.active:
        # Same cost as a real check, so timing does not tell which codes exist.
        hash_pin(pin, b"0" * 16)
        raise LoginError(say("operators.wrong"))
    taken = (
        Operator.update(failed_attempts=Operator.failed_attempts + 1)
        .where(
            (Operator.code == op.code)
            & (Operator.locked == False)  # noqa: E712 (a SQL expression)
            & (Operator.failed_attempts < MAX_FAILED_PINS)
        )
        .execute()
    )
    if not taken:
        Operator.update(locked=True).where(Operator.code == op.code).execute()
        raise LoginError(say("operators.locked", code=code))
    if not hmac.compare_digest(hash_pin(pin, bytes.fromhex(op.pin_salt)), op.pin_hash):
        with database.atomic():
            attempts = Operator.get_by_id(op.code).failed_attempts
            locked = attempts >= MAX_FAILED_PINS
            if locked:
                Operator.update(locked=True).where(Operator.code == op.code).execute()
            audit.record(
                station,
                "login.locked" if locked else "login.failed",
                operator=code,
                attempts=attempts,
                **({"via": via} if via else {}),
            )
        if locked:
            raise LoginError(
                say("operators.locked_now", MAX_FAILED_PINS=MAX_FAILED_PINS, code=code)
            )
        left = MAX_FAILED_PINS - attempts
        raise LoginError(say("operators.wrong_left", left=left), attempts=attempts)
    with database.atomic():
        Operator.update(failed_attempts=0).where(Operator.code == op.code).execute()
        audit.record(station, "login", operator=code, **({"via": via} if via else {}))
    return SignedIn(op.code, op.name, Role(op.role))


def authorize(station: str, code: str, pin: str, need: Role, *, via: str) -> SignedIn:
    """Sign in for one privileged action: the right PIN and at least the role it needs."""
    who = authenticate(station, code, pin, via=via)
    who.require(need)
    return who


def retry_delay(attempts: int) -> float:
    """Seconds a login screen waits before it takes the next try after ``attempts`` wrong
    PINs in a row: 0, 1, 2, 4, 8 (a guesser at the console is slowed, a typo is not)."""
    return 0.0 if attempts <= 1 else float(min(2 ** (attempts - 2), 8))


def unlock(station: str, code: str, by: SignedIn) -> None:
    """A supervisor unlocks an operator locked by wrong PINs."""
    by.require(Role.SUPERVISOR)
    op = Operator.get_or_none(Operator.code == code.strip())
    if op is None:
        raise InputError(say("operators.no_operator", code=code))
    with database.atomic():
        op.locked, op.failed_attempts = False, 0
        op.save()
        audit.record(station, "operator.unlock", operator=by.code, subject=op.code)


def verify_pin(station: str, who: SignedIn, pin: str) -> bool:
    """Re-check the signed-in operator's PIN (unlocking the idle screen); counts failures."""
    try:
        authenticate(station, who.code, pin)
    except LoginError:
        return False
    return True
