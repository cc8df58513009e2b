"""The administrator's area: people, standards and banks, sittings, results, the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import User
from ..service_settings import test_email_domains_allowed
from ..services import accounts
from ..storage.requests import discard
from .blueprint import bp
from .forms import CreateUserForm, ResetPasswordForm, RolesForm


@bp.route("/")
def home():  # type: ignore[no-untyped-def]
    return render_template("admin/home.html")


@bp.route("/users")
def users():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
def create_user():  # type: ignore[no-untyped-def]
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                email=form.email.data or "",
                display_name=form.display_name.data or "",
                password=form.password.data or "",
                roles=list(form.roles.data or []),
                uln=form.uln.data or None,
                moderator=bool(form.moderator.data),
                actor=current_user,
                temporary_password=True,
                allow_test_domains=test_email_domains_allowed(),
            )
        except accounts.AccountError as refused:
            discard()
            field = {"invalid_uln": form.uln, "duplicate_uln": form.uln, "invalid_role": form.roles}.get(refused.code, form.email)
            field.errors = [*field.errors, str(refused)]
        else:
            flash(f"Created {user.email}.")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):  # type: ignore[no-untyped-def]
    user = db.get_or_404(User, user_id)
    roles_form = RolesForm(prefix="roles", roles=sorted(user.roles), moderator=user.is_moderator)
    password_form = ResetPasswordForm(prefix="pw")
    return render_template("admin/user_edit.html", user=user, roles_form=roles_form, password_form=password_form)


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
def set_roles(user_id: int):  # type: ignore[no-untyped-def]
    user = db.get_or_404(User, user_id)
    form = RolesForm(prefix="roles")
    if form.validate_on_submit():
        try:
            accounts.set_roles(user, list(form.roles.data or []), current_user, moderator=bool(form.moderator.data))
        except accounts.AccountError as refused:
            discard()
            flash(str(refused), "error")
        else:
            flash(f"Roles updated for {user.email}.")
            return redirect(url_for("admin.users"))
    else:
        flash("; ".join([*form.roles.errors, *form.moderator.errors]) or "Choose at least one role.", "error")
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int):  # type: ignore[no-untyped-def]
    user = db.get_or_404(User, user_id)
    form = ResetPasswordForm(prefix="pw")
    if form.validate_on_submit():
        accounts.reset_password(user, form.password.data or "", current_user)
        flash(
            f"Password reset for {user.email}; their existing sessions have ended and they must choose their own password at their next sign-in."
        )
        return redirect(url_for("admin.users"))
    flash("; ".join(form.password.errors) or "Enter a new password.", "error")
    return redirect(url_for("admin.edit_user", user_id=user_id))
