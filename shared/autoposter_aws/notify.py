"""S12: what happened to an upload, as an EventBridge event on the application's bus.

``source`` is ``autoposter``; ``detail-type`` is ``Posters Published``, ``Posters Refused`` or
``Posters Failed``; ``detail`` holds the key, the job, the status and the manifest URL or the
typed error. A rule on the bus is how a downstream system learns that posters are ready (README,
"Where are my posters?"). No bus configured (``EVENT_BUS`` empty): nothing is sent.
"""
from __future__ import annotations

import json

from . import storage
from .config import Config

SOURCE = "autoposter"


def send(cfg: Config, detail_type: str, detail: dict) -> None:
    if not cfg.event_bus:
        return
    entry = {"Source": SOURCE, "DetailType": detail_type, "EventBusName": cfg.event_bus,
             "Detail": json.dumps(detail, ensure_ascii=False)[:200_000]}
    out = storage.client("events").put_events(Entries=[entry])
    if out.get("FailedEntryCount"):
        from .errors import ServiceTransient
        raise ServiceTransient(f"EventBridge refused the event: {out['Entries'][0].get('ErrorCode')}")
