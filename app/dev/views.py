"""/dev/mail and /dev/sms: what the development mail server and the console SMS backend caught."""
from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template

bp = Blueprint("dev", __name__, url_prefix="/dev")


def _mail_dir() -> Path:
    return Path(current_app.config["DEV_MAIL_DIR"])


def _summary(path: Path) -> dict:
    with path.open("rb") as fh:
        message = email.message_from_binary_file(fh, policy=policy.default)
    return {"id": path.stem, "from": message["From"], "to": message["To"],
            "subject": message["Subject"], "date": message["Date"], "message": message}


@bp.get("/mail")
def mail_list() -> str:
    if not current_app.config["DEV_MAIL_DIR"]:
        abort(404)
    folder = _mail_dir()
    paths = sorted(folder.glob("*.eml"), reverse=True)[:200] if folder.is_dir() else []
    return render_template("dev/mail_list.html", messages=[_summary(p) for p in paths], folder=folder)


@bp.get("/mail/<message_id>")
def mail_detail(message_id: str) -> str:
    if not message_id.replace("-", "").isalnum():
        abort(404)
    path = _mail_dir() / f"{message_id}.eml"
    if not path.is_file():
        abort(404)
    item = _summary(path)
    body = item["message"].get_body(preferencelist=("plain", "html"))
    return render_template("dev/mail_detail.html", item=item, body=body.get_content() if body else "")


def _sms_summary(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    return {"id": path.stem, "to": data.get("to", "?"), "body": data.get("body", ""),
            "date": data.get("sent_at", path.stem)}


@bp.get("/sms")
def sms_list() -> str:
    """Text messages the console SMS backend kept under DEV_SMS_DIR, newest first."""
    folder = Path(current_app.config["DEV_SMS_DIR"]) if current_app.config["DEV_SMS_DIR"] else None
    paths = sorted(folder.glob("*.json"), reverse=True)[:200] if folder and folder.is_dir() else []
    return render_template("dev/sms_list.html", messages=[_sms_summary(p) for p in paths], folder=folder)
