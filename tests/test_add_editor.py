"""`manage.py add_editor`, run as an operator would: a real process, at a real terminal (a
pseudo-terminal) answering its prompts, or with no terminal at all."""

import os
import pty
import select
import sqlite3
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]
GOOD_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    path = tmp_path_factory.mktemp("add-editor") / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "DJANGO_DEBUG": "1"}
    env.pop("CATALOGUE_EDITOR_PASSWORD", None)
    subprocess.run([*MANAGE, "migrate", "-v0"], env=env, check=True, timeout=120)
    return path, env


def account(path, username):
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT id, password, is_staff, is_superuser, email FROM auth_user WHERE username = ?",
            [username],
        ).fetchone()
        if row is None:
            return None
        groups = [
            name
            for (name,) in db.execute(
                "SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id "
                "WHERE ug.user_id = ?",
                [row[0]],
            )
        ]
    return {
        "password": row[1],
        "is_staff": row[2],
        "is_superuser": row[3],
        "email": row[4],
        "groups": groups,
    }


def run(env, *args, **extra):
    return subprocess.run(
        [*MANAGE, "add_editor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        **extra,
    )


def at_a_terminal(env, args, answers):
    """Run the command in a pseudo-terminal, answering each prompt in turn."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, its terminal the pty
        os.execve(MANAGE[0], [*MANAGE, "add_editor", *args], env)
    output = b""
    pending = list(answers)
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            os.kill(pid, 9)
            raise AssertionError(f"No prompt within 30 s; so far: {output!r}")
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child closed its terminal
            break
        if not chunk:
            break
        output += chunk
        if pending and output.endswith(b": "):  # a prompt waiting, not a line ended
            os.write(fd, pending.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode()


def test_at_a_terminal_it_asks_twice_checks_the_password_and_creates_an_editor(database):
    path, env = database
    code, output = at_a_terminal(
        env,
        ["edna", "--email", "edna@example.gov.uk"],
        ["one password", "another password", "short", "short", GOOD_PASSWORD, GOOD_PASSWORD],
    )
    assert code == 0, output
    assert "The two passwords differ." in output
    assert "This password is too short." in output
    assert "Created Editor “edna”." in output
    assert GOOD_PASSWORD not in output  # never echoed
    created = account(path, "edna")
    assert created["groups"] == ["Editors"]
    assert created["is_staff"] and not created["is_superuser"]
    assert created["email"] == "edna@example.gov.uk"
    assert check_password(GOOD_PASSWORD, created["password"])


def test_without_a_terminal_it_takes_the_password_from_the_environment(database):
    path, env = database
    result = run({**env, "CATALOGUE_EDITOR_PASSWORD": GOOD_PASSWORD}, "pablo", "--publisher")
    assert result.returncode == 0, result.stderr
    assert "Created Publisher “pablo”." in result.stdout
    created = account(path, "pablo")
    assert created["groups"] == ["Publishers"]
    assert check_password(GOOD_PASSWORD, created["password"])


def test_without_a_terminal_or_password_the_account_waits_for_one(database):
    path, env = database
    result = run(env, "nopass")
    assert result.returncode == 0, result.stderr
    assert "manage.py changepassword nopass" in result.stdout
    assert account(path, "nopass")["password"].startswith("!")  # Django's unusable password


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        (["edna-dup"], {"CATALOGUE_EDITOR_PASSWORD": "password"}, "This password is too common."),
        (["someone", "--email", "not an address"], {}, "--email: Enter a valid email address."),
        ([" "], {}, "Give a username."),
    ],
)
def test_bad_input_is_refused_with_its_reason_and_creates_nothing(
    database, args, extra_env, message
):
    path, env = database
    result = run({**env, **extra_env}, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert account(path, args[0].strip() or "-") is None


def test_an_existing_account_is_left_alone(database):
    path, env = database
    assert run(env, "twice").returncode == 0
    before = account(path, "twice")
    result = run({**env, "CATALOGUE_EDITOR_PASSWORD": GOOD_PASSWORD}, "twice", "--publisher")
    assert result.returncode == 1
    assert "There is already an account called “twice”" in result.stderr
    assert account(path, "twice") == before
