"""Logging in, setting the first password, logging out."""

import time

from flask import flash, redirect, render_template, request, url_for

from strmsync.errors import ConfigError
from strmsync.web.auth import (
    LockedOut,
    log_in,
    log_out,
    password_attempt,
    password_origin,
    safe_next,
    set_password,
    setup_code_attempt,
)
from strmsync.web.panel import panel
from strmsync.web.panel.settings import settings_of

FAILED_LOGIN_PAUSE = 1.0


@panel.route("/login", methods=["GET", "POST"])
def login():
    if password_origin(settings_of()) is None:
        return redirect(url_for("panel.setup"))
    error, status = None, 200
    if request.method == "POST":
        try:
            if password_attempt(request.form.get("password", "")):
                log_in()
                return redirect(safe_next(request.form.get("next")))
            time.sleep(FAILED_LOGIN_PAUSE)  # slows down guessing
            error, status = "Wrong password.", 401
        except LockedOut as exc:
            error, status = str(exc).capitalize() + ".", 429
    return render_template("panel/login.html", error=error,
                           next=request.values.get("next", "")), status


@panel.route("/setup", methods=["GET", "POST"])
def setup():
    if password_origin(settings_of()) is not None:
        return redirect(url_for("panel.login"))
    errors, status = {}, 200
    if request.method == "POST":
        try:
            if not setup_code_attempt(request.form.get("code", "")):
                time.sleep(FAILED_LOGIN_PAUSE)  # slows down guessing
                raise ConfigError("code: not the setup code; it is in the serve log")
            set_password(settings_of(), request.form.get("password", ""),
                         request.form.get("repeat", ""))
        except LockedOut as exc:
            errors["code"], status = str(exc).capitalize() + ".", 429
        except ConfigError as exc:
            name, _, problem = str(exc).partition(": ")
            errors[name], status = problem, 400
        else:
            log_in()
            flash("Password set. Welcome to strmsync.", "ok")
            return redirect(url_for("panel.dashboard"))
    return render_template("panel/setup.html", errors=errors), status


@panel.post("/logout")
def logout():
    log_out()
    return redirect(url_for("panel.login"))
