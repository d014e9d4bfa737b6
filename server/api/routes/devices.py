"""Enrolling a laptop, and releasing its recovery secret after an online password sign-in."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter

from server import audit, crud
from server.api.deps import ClockDep, CurrentUser, SessionDep, SettingsDep
from server.api.responses import ERRORS
from server.audit import AuditEvent
from server.errors import ApiError
from server.models import Device
from sync.protocol import EnrolRequest, EnrolResponse, ErrorCode, RecoveryResponse

router = APIRouter(prefix="/devices", tags=["devices"])


@router.post("/enrol", response_model=EnrolResponse, responses=ERRORS)
def enrol(
    body: EnrolRequest, actor: CurrentUser, session: SessionDep, clock: ClockDep
) -> EnrolResponse:
    """Register this laptop for the signed-in user; returns its device credential."""
    device, secret = crud.enrol_device(session, actor, body.device_name, clock=clock)
    return EnrolResponse(
        device_id=device.id,
        device_secret=secret,
        recovery_secret=device.recovery_secret,
        server_time=clock.now(),
    )


@router.get("/{device_id}/recovery", response_model=RecoveryResponse, responses=ERRORS)
def recovery(
    device_id: uuid.UUID,
    actor: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> RecoveryResponse:
    """The laptop's recovery secret, for its own user after a fresh password sign-in."""
    device = session.get(Device, device_id)
    if device is None or device.user_id != actor.user_id:
        denied = AuditEvent(
            "access_denied",
            actor=actor.username,
            device_id=str(device_id),
            detail={"what": "recovery"},
        )
        raise ApiError(ErrorCode.NOT_FOUND, "That laptop is not enrolled to you.", audit=[denied])
    if device.revoked_at is not None:
        raise ApiError(ErrorCode.DEVICE_REVOKED)
    if clock.now() - actor.token_issued_at > timedelta(seconds=settings.recovery_fresh_seconds):
        raise ApiError(
            ErrorCode.FORBIDDEN,
            "For your safety, sign in with your password again, then retry the recovery.",
        )
    audit.append(
        session,
        [AuditEvent("recovery_released", actor=actor.username, device_id=str(device.id))],
        at=clock.now(),
    )
    return RecoveryResponse(device_id=device.id, recovery_secret=device.recovery_secret)
