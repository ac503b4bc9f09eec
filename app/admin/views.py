"""Admin HTML pages: write an announcement, follow its progress, see what failed."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from app.members.access import admin_required
from app.admin.forms import AnnouncementForm, RetryFailedForm
from app.announcements import service
from app.extensions import db
from app.models.announcement import Announcement
from app.phrases import N_

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@admin_required()
def index() -> str:
    announcements = service.recent_announcements()
    progress = {a.id: service.progress(a.id) for a in announcements}
    return render_template("admin/index.html", announcements=announcements, progress=progress)


@bp.route("/announcements/new", methods=["GET", "POST"])
@admin_required()
def new_announcement() -> Response | str:
    form = AnnouncementForm()
    if form.validate_on_submit():
        announcement = service.create_announcement(current_user, form.subject.data.strip(),
                                                   form.body.data.strip())
        flash(ngettext("Announcement queued for %(num)s member.", "Announcement queued for %(num)s members.",
                       announcement.recipient_count))
        return redirect(url_for("admin.announcement", announcement_id=announcement.id))
    return render_template("admin/new_announcement.html", form=form)


@bp.get("/announcements/<int:announcement_id>")
@admin_required()
def announcement(announcement_id: int) -> str:
    item = db.session.get(Announcement, announcement_id)
    if item is None:
        abort(404)
    return render_template("admin/announcement.html", announcement=item,
                           progress=service.progress(announcement_id),
                           failed=service.failed_deliveries(announcement_id), retry_form=RetryFailedForm())


@bp.post("/announcements/<int:announcement_id>/retry-failed")
@admin_required()
def retry_failed(announcement_id: int) -> Response:
    if db.session.get(Announcement, announcement_id) is None:
        abort(404)
    if not RetryFailedForm().validate_on_submit():
        abort(400, N_("the form expired; reload the page and try again"))
    retried = service.retry_failed(announcement_id)
    flash(ngettext("%(num)s failed delivery queued again.", "%(num)s failed deliveries queued again.", retried)
          if retried else _("There were no failed deliveries to retry."))
    return redirect(url_for("admin.announcement", announcement_id=announcement_id))
