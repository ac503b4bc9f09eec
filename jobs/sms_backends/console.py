"""Development SMS: log the message and keep it as a JSON file under ``DEV_SMS_DIR``.

The files are what ``/dev/sms`` lists, next to the caught mail. Nothing leaves the machine.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from pathlib import Path

from app.sms_text import LMS_MAX_BYTES
from jobs.sms_backends import SMSMessage

log = logging.getLogger(__name__)


class ConsoleBackend:
    max_bytes = LMS_MAX_BYTES  # as a Korean provider: what /dev/sms shows is what a phone would get

    def __init__(self, directory: str = "") -> None:
        self.directory = Path(directory) if directory else None

    def send(self, message: SMSMessage) -> str:
        log.info("SMS to %s: %s", message.to, message.body)
        if self.directory is None:
            return "console: logged"
        self.directory.mkdir(parents=True, exist_ok=True)
        now = datetime.now(timezone.utc)
        name = f"{now:%Y%m%dT%H%M%S%f}-{re.sub(r'[^A-Za-z0-9]+', '-', message.key)}.json"
        path = self.directory / name
        path.write_text(json.dumps({"to": message.to, "body": message.body, "key": message.key,
                                    "type": message.type, "sent_at": now.isoformat()}, ensure_ascii=False))
        return f"console: {path.name}"
