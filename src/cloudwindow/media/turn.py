"""ICE servers for a call: STUN, and TURN (coturn) with time-limited credentials.

The TURN REST API scheme (coturn ``use-auth-secret`` + ``static-auth-secret``): the
username is ``<expiry unix time>:<who>``, the password base64(HMAC-SHA1(secret,
username)). coturn recomputes the password from the shared secret and refuses the
username once its time has passed, so nothing is stored and nothing has to be revoked.
See docs/operations.md §TURN.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from cloudwindow.config import Settings


def turn_credentials(secret: str, who: str, expires_at: int) -> tuple[str, str]:
    """Username and password valid until ``expires_at`` (unix seconds) for ``who``."""
    username = f"{expires_at}:{who}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: Settings, who: str, now: float) -> list[dict[str, Any]]:
    """RTCIceServer dicts for one participant. Empty when nothing is configured: on a LAN
    (and on one machine) host candidates connect without any server."""
    servers: list[dict[str, Any]] = []
    if settings.stun_urls:
        servers.append({"urls": list(settings.stun_urls)})
    if settings.turn_urls and settings.turn_secret:
        # coturn splits the username at the first ':'; keep ``who`` free of colons.
        label = who.replace(":", "-")
        username, password = turn_credentials(
            settings.turn_secret, label, int(now) + settings.turn_ttl_seconds
        )
        servers.append(
            {"urls": list(settings.turn_urls), "username": username, "credential": password}
        )
    return servers
