"""/dev/mail: the messages the development mail server caught, newest first."""
from __future__ import annotations

import email
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
