"""Error pages for the panel (the JSON API keeps its JSON errors)."""

import logging

from flask import render_template
from werkzeug.exceptions import HTTPException

from strmsync.web.panel import panel

log = logging.getLogger(__name__)


@panel.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return render_template("panel/error.html", code=exc.code, title=exc.name,
                           message=exc.description), exc.code


@panel.errorhandler(Exception)
def internal_error(exc: Exception):
    log.exception("unhandled error in the panel")
    return render_template("panel/error.html", code=500, title="Something went wrong",
                           message="The service log has the details."), 500
