"""Keep an uploaded file between its preview and its confirmation (imports: preview first, then import)."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings

UPLOAD_DIR = Path(settings.VAR_DIR) / "imports"


def stash(request, name: str, raw: bytes, options: dict | None = None) -> str:
    """Keep the file for this user's session; return the token the confirmation form sends back."""
    token = uuid.uuid4().hex
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    (UPLOAD_DIR / f"{token}.csv").write_bytes(raw)
    request.session[name] = {"token": token, "options": options or {}}
    return token


def take(request, name: str, token: str | None) -> tuple[bytes, dict] | None:
    """Return the kept file and its options, if the token is this session's own; else None."""
    kept = request.session.get(name) or {}
    if not token or kept.get("token") != token:
        return None
    path = UPLOAD_DIR / f"{token}.csv"
    if not path.exists():
        return None
    return path.read_bytes(), kept.get("options", {})


def discard(request, name: str) -> None:
    kept = request.session.pop(name, None) or {}
    if kept.get("token"):
        (UPLOAD_DIR / f"{kept['token']}.csv").unlink(missing_ok=True)
