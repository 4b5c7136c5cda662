"""Users: create, list, disable, reset, unlock, and sign-in with its rate limits.

Failed sign-ins are counted in PostgreSQL (``users.failed_logins`` and
``login_attempts``), not in process memory, so every worker and every restart
sees the same counts. An account locks after ``max_failures`` failures in a row
until an admin unlocks it; an address with too many failures in a window is
refused (429) for every account.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from gis_service.core.auth.models import ROLES, LoginAttempt, User
from gis_service.core.auth.passwords import hash_password, needs_rehash, verify_password
from gis_service.core.auth.scope import unscoped
from gis_service.core.db import atomic
from gis_service.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from gis_service.core.models import Township
from gis_service.core.settings import AuthSettings

BAD_CREDENTIALS = "wrong user name or password"


def user_out(user: User) -> dict[str, Any]:
    """A user as the API and CLI show it (never the hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "township": user.township_code,
        "county": user.county,
        "grid": user.grid_code,
        "cadre": user.cadre_code,
        "disabled": user.disabled,
        "locked": user.locked_at is not None,
        "failed_logins": user.failed_logins,
        "last_login_at": user.last_login_at,
    }


def _check_scope(
    session: Session,
    *,
    role: str,
    township: str | None,
    county: str | None,
    grid: str | None,
    cadre: str | None,
) -> None:
    """Refuse a scope the role cannot have, naming the option."""
    if role not in ROLES:
        raise InvalidInput(
            f"role {role!r} is not one of {', '.join(ROLES)}",
            errors=[{"field": "role", "reason": f"one of {', '.join(ROLES)}"}],
        )
    if township and county:
        raise InvalidInput("give a township or a county, not both")
    needs = {"grid_leader": ("township", "grid"), "cadre": ("township", "cadre")}
    given = {"township": township, "grid": grid, "cadre": cadre}
    for option in needs.get(role, ()):
        if not given[option]:
            raise InvalidInput(f"a {role} needs --{option}")
    if role == "viewer" and not (township or county):
        raise InvalidInput("a viewer needs --township or --county")
    if (grid and role != "grid_leader") or (cadre and role != "cadre"):
        raise InvalidInput(f"a {role} has no --grid/--cadre scope")
    if township and session.get(Township, township) is None:
        raise NotFound(f"township {township} does not exist")
    if county and not session.scalar(
        select(func.count()).select_from(Township).where(Township.county == county)
    ):
        raise NotFound(f"no township in county {county!r}")
    table = "grids" if grid else "cadres" if cadre else None
    if table:
        found = session.execute(
            text(f"SELECT 1 FROM {table} WHERE township_code = :t AND code = :c"),
            {"t": township, "c": grid or cadre},
        ).first()
        if found is None:
            raise NotFound(f"{table[:-1]} {grid or cadre} not found in {township}")


def add_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    township: str | None = None,
    county: str | None = None,
    grid: str | None = None,
    cadre: str | None = None,
) -> dict[str, Any]:
    """Create a user; the scope must suit the role and exist."""
    username = username.strip()
    if not username or len(username) > 64:
        raise InvalidInput("a user name has 1 to 64 characters")
    with atomic(session):
        _check_scope(
            session, role=role, township=township, county=county, grid=grid, cadre=cadre
        )
        if session.scalar(select(User.id).where(User.username == username)):
            raise Conflict(f"user {username!r} already exists")
        user = User(
            username=username,
            role=role,
            township_code=township,
            county=county,
            grid_code=grid,
            cadre_code=cadre,
            password_hash=hash_password(password),
        )
        session.add(user)
        session.flush()
        return user_out(user)


def list_users(session: Session) -> list[dict[str, Any]]:
    """Every user, by name."""
    return [user_out(u) for u in session.scalars(select(User).order_by(User.username))]


def _named(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"user {username!r} does not exist")
    return user


def set_disabled(session: Session, *, username: str, disabled: bool) -> dict[str, Any]:
    """Disable (or enable) a user; disabling ends their tokens at once."""
    with atomic(session):
        user = _named(session, username)
        user.disabled = disabled
        user.token_version += 1
        session.flush()
        return user_out(user)


def reset_password(session: Session, *, username: str, password: str) -> dict[str, Any]:
    """Set a new password, unlock, and end every token issued before."""
    with atomic(session):
        user = _named(session, username)
        user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_at = None
        user.token_version += 1
        session.flush()
        return user_out(user)


def unlock(session: Session, *, username: str) -> dict[str, Any]:
    """Lift a lock-out after too many failed sign-ins."""
    with atomic(session):
        user = _named(session, username)
        user.failed_logins = 0
        user.locked_at = None
        session.flush()
        return user_out(user)


def _record(session: Session, username: str, address: str, ok: bool) -> None:
    session.add(LoginAttempt(username=username[:64], address=address, succeeded=ok))
    # keep a day of attempts: enough for every window, small enough to count fast
    session.execute(
        delete(LoginAttempt)
        .where(LoginAttempt.at < func.now() - text("interval '1 day'"))
        .execution_options(synchronize_session=False)
    )


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    address: str,
    limits: AuthSettings,
) -> User:
    """The user these credentials belong to, or 401/429 (the attempt is recorded).

    The attempt, the failure count and a lock-out are committed even when the
    sign-in fails, so they count across requests and workers. Runs as the system
    role: there is no scope before sign-in, and the service login reads nothing.
    """
    with unscoped(session):
        return _authenticate(
            session,
            username=username,
            password=password,
            address=address,
            limits=limits,
        )


def _authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    address: str,
    limits: AuthSettings,
) -> User:
    window = text(f"interval '{int(limits.address_window_minutes)} minutes'")
    failures = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.address == address,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at > func.now() - window,
        )
    )
    if (failures or 0) >= limits.address_failures:
        session.rollback()
        raise TooManyRequests(
            "too many failed sign-ins from this address; try again later",
            retry_after=limits.address_window_minutes * 60,
        )
    user = session.scalar(
        select(User).where(User.username == username).with_for_update()
    )
    ok = verify_password(user.password_hash if user else None, password)
    problem: str | None = None
    if user is None or not ok:
        problem = BAD_CREDENTIALS
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= limits.max_failures and user.locked_at is None:
                user.locked_at = func.now()
    elif user.locked_at is not None:
        problem = "this account is locked after failed sign-ins; an admin unlocks it"
    elif user.disabled:
        problem = BAD_CREDENTIALS
    _record(session, username, address, problem is None)
    if problem is None and user is not None:
        user.failed_logins = 0
        user.last_login_at = func.now()
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
    session.commit()
    if problem is not None or user is None:
        raise Unauthorized(problem or BAD_CREDENTIALS)
    session.refresh(user)
    return user


def active_user(session: Session, *, user_id: int, version: int) -> User:
    """The user a token names, if still enabled, unlocked and not reset since."""
    with unscoped(session):  # before the scope: as the system role
        user = session.get(User, user_id)
    if (
        user is None
        or user.disabled
        or user.locked_at is not None
        or user.token_version != version
    ):
        raise Unauthorized("the token is no longer valid; sign in again")
    return user
