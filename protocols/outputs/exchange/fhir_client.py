"""POST of a transaction Bundle to a FHIR server's base URL.

Delivered means a 2xx answer; anything else (5xx, 4xx, a timeout, no server) raises
:class:`DeliveryFailed` and the Bundle stays in the outbox. Its entries are conditional
creates, so sending it again after a lost answer does not duplicate anything.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from protocols.outputs.exchange.errors import DeliveryFailed

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"


def post_bundle(base_url: str, bundle: dict[str, Any], timeout_s: float) -> int:
    """POST ``bundle`` to ``base_url``; return the HTTP status (2xx).

    Raises
    ------
    DeliveryFailed
        On any answer other than 2xx, a timeout or no connection.
    """
    request = urllib.request.Request(
        base_url.rstrip("/"),
        data=json.dumps(bundle).encode("utf-8"),
        headers={"Content-Type": FHIR_JSON, "Accept": FHIR_JSON},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            status = int(answer.status)
            answer.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", errors="replace")
        raise DeliveryFailed(f"{base_url}: HTTP {exc.code} {exc.reason}: {detail}") from None
    except TimeoutError:
        raise DeliveryFailed(f"{base_url}: no answer within {timeout_s:g} s") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise DeliveryFailed(f"{base_url}: no answer within {timeout_s:g} s") from None
        raise DeliveryFailed(f"{base_url}: {getattr(reason, 'strerror', None) or reason}") from None
    except OSError as exc:
        raise DeliveryFailed(f"{base_url}: {exc}") from None
    logger.info("FHIR Bundle accepted by %s (HTTP %d)", base_url, status)
    return status
