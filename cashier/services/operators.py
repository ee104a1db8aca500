"""Operators: roles, PIN login with a memory-hard KDF, lockout after wrong PINs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from cashier.errors import CashierError, InputError, NotAllowed
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
            raise NotAllowed(f"需要{role.label}权限")


def hash_pin(pin: str, salt: bytes) -> str:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, **_SCRYPT).hex()


def check_pin_format(pin: str) -> None:
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise InputError("PIN 应为 4 到 8 位数字")


def create_operator(station: str, code: str, name: str, role: Role, pin: str) -> Operator:
    """Add an operator (or reset an existing one's name, role and PIN)."""
    if not (code.isascii() and code.isalnum() and 1 <= len(code) <= 16):
        raise InputError("工号应为 1 到 16 位字母或数字")
    check_pin_format(pin)
    salt = secrets.token_bytes(16)
    with database.atomic():
        op, created = Operator.get_or_create(
            code=code,
            defaults={"name": name, "role": role.value, "pin_salt": salt.hex(), "pin_hash": ""},
        )
        op.name, op.role, op.pin_salt = name, role.value, salt.hex()
        op.pin_hash = hash_pin(pin, salt)
        op.failed_attempts, op.locked, op.active = 0, False, True
        op.save()
        audit.record(station, "operator.set", subject=code, role=role.value, created=created)
    return op


def authenticate(station: str, code: str, pin: str) -> SignedIn:
    """Check a code and PIN. Wrong PINs count; the fifth locks the operator."""
    code = code.strip()
    op = Operator.get_or_none(Operator.code == code)
    if op is None or not op.active:
        # Same cost as a real check, so timing does not tell which codes exist.
        hash_pin(pin, b"0" * 16)
        raise LoginError("工号或 PIN 不正确")
    if op.locked:
        raise LoginError(f"工号 {code} 已锁定，请收费组长解锁")
    if not hmac.compare_digest(hash_pin(pin, bytes.fromhex(op.pin_salt)), op.pin_hash):
        with database.atomic():
            op.failed_attempts += 1
            if op.failed_attempts >= MAX_FAILED_PINS:
                op.locked = True
            op.save()
            audit.record(
                station,
                "login.locked" if op.locked else "login.failed",
                operator=code,
                attempts=op.failed_attempts,
            )
        if op.locked:
            raise LoginError(
                f"PIN 连续错误 {MAX_FAILED_PINS} 次，工号 {code} 已锁定，请收费组长解锁"
            )
        left = MAX_FAILED_PINS - op.failed_attempts
        raise LoginError(f"工号或 PIN 不正确（再错 {left} 次将锁定）")
    with database.atomic():
        if op.failed_attempts:
            op.failed_attempts = 0
            op.save()
        audit.record(station, "login", operator=code)
    return SignedIn(op.code, op.name, Role(op.role))


def unlock(station: str, code: str, by: SignedIn) -> None:
    """A supervisor unlocks an operator locked by wrong PINs."""
    by.require(Role.SUPERVISOR)
    op = Operator.get_or_none(Operator.code == code.strip())
    if op is None:
        raise InputError(f"没有工号 {code}")
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
