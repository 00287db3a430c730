"""``edc-bridge users add|list|roles``: staff console accounts from the command line (the first admin)."""
from __future__ import annotations

import click

from bridge.config import ConfigError, Settings
from bridge.db.models import STAFF_ROLES


def _url() -> str:
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    from bridge.db.migrate import upgrade

    upgrade(settings.database_url)
    return settings.database_url


def _grants(roles: tuple[str, ...], courses: tuple[str, ...]) -> list:
    from bridge.console.roles import Grant

    grants = [Grant(r) for r in roles]
    for value in courses:
        source, _, course = value.partition("/")
        if not source or not course:
            raise click.BadParameter("use SOURCE/COURSE_ID", param_hint="--course")
        grants.append(Grant("course_team", source, course))
    return grants


@click.group()
def users() -> None:
    """Staff console accounts (people sign in at $EDC_PUBLIC_URL/console/)."""


@users.command("add")
@click.argument("username")
@click.option("--name", default=None, help="Display name (default: the user name).")
@click.option("--email", default=None, help="E-mail; links the identity provider account with this verified address.")
@click.option("--role", "roles", multiple=True, type=click.Choice([r for r in STAFF_ROLES if r != "course_team"]),
              help="Role (repeatable).")
@click.option("--course", "courses", multiple=True, metavar="SOURCE/COURSE_ID",
              help="Course team of this course (repeatable).")
@click.option("--sso-only", is_flag=True, help="No local password: sign-in through the identity provider only.")
def users_add(username: str, name: str | None, email: str | None, roles: tuple[str, ...], courses: tuple[str, ...],
              sso_only: bool) -> None:
    """Create an account and print its first password (shown this once)."""
    from bridge.console.accounts import create_user, generate_password
    from bridge.db.session import session_factory

    grants = _grants(roles, courses)
    password = None if sso_only else generate_password()
    with session_factory(_url())() as session:
        try:
            create_user(session, username, name or username, email=email, password=password, grants=grants)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(f"user '{username}' created with role(s): "
               f"{', '.join(g.role + (f' {g.source}/{g.course_id}' if g.course else '') for g in grants) or 'none'}")
    if password:
        click.echo("First password (shown this once; change it under 'My account'):")
        click.echo(password)


@users.command("list")
def users_list() -> None:
    """User names, roles and state (never passwords)."""
    from sqlalchemy import select

    from bridge.db.models import StaffUser
    from bridge.db.session import session_factory

    with session_factory(_url())() as session:
        for user in session.scalars(select(StaffUser).order_by(StaffUser.username)):
            roles = ",".join(r.role + (f":{r.source}/{r.course_id}" if r.course_id else "") for r in user.roles)
            state = "disabled" if user.disabled else "active"
            click.echo(f"{user.username}\t{roles or '-'}\t{state}")
