"""The users file: Teams users to Coffre identities, every mistake named, changes picked up."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from api.errors import SettingsError
from api.teams.identities import IdentityFile, TeamsUser, load_identities
from tests.unit.test_teams_kit import ALICE, BOB, STRANGER, SUSPENDED, TENANT, users_file


def _touch_later(path: Path) -> None:
    stamp = path.stat().st_mtime_ns + 1_000_000
    os.utime(path, ns=(stamp, stamp))


def test_each_listed_user_gets_their_coffre_user_groups_and_roles(tmp_path: Path) -> None:
    identities = load_identities(users_file(tmp_path / "users.toml"))
    alice = identities.identify(TeamsUser(TENANT, ALICE))
    assert alice is not None
    assert (alice.user, alice.groups, alice.roles, alice.method) == (
        "alice", frozenset({"lending", "staff"}), frozenset({"employee"}), "teams")
    # The file lists Bob's ids in capitals: GUIDs match whatever their case.
    bob = identities.identify(TeamsUser(TENANT, BOB))
    assert bob is not None and bob.groups == frozenset({"retail"})
    carol = identities.identify(TeamsUser(TENANT, SUSPENDED))
    assert carol is not None and carol.roles == frozenset()


def test_anyone_else_is_nobody(tmp_path: Path) -> None:
    identities = load_identities(users_file(tmp_path / "users.toml"))
    assert identities.identify(TeamsUser(TENANT, STRANGER)) is None
    # Alice's object id in another tenant is another person.
    assert identities.identify(TeamsUser("0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a", ALICE)) is None


def test_a_json_file_reads_as_the_toml_one(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"users": [{"tenant_id": TENANT, "object_id": ALICE,
                                           "user": "alice", "groups": ["staff"],
                                           "roles": ["compliance"]}]}))
    alice = load_identities(path).identify(TeamsUser(TENANT, ALICE))
    assert alice is not None and alice.roles == frozenset({"compliance"})


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("users = 3", "top level: the file needs a 'users' list"),
        ("[[users]]\ntenant_id = 't'\nobject_id = 'o'\nuser = 'u'\ngroup = ['a']",
         "user 1: unknown field group"),
        ("[[users]]\ntenant_id = 't'\nobject_id = 'o'\nuser = ''\ngroups = ['a']",
         "user 1: user must be a non-empty string"),
        ("[[users]]\ntenant_id = 't'\nuser = 'u'\ngroups = ['a']",
         "user 1: object_id must be a non-empty string"),
        ("[[users]]\ntenant_id = 't'\nobject_id = 'o'\nuser = 'u'\ngroups = 'a'",
         "user 1: groups must be a list of group names"),
        ("[[users]]\ntenant_id = 't'\nobject_id = 'o'\nuser = 'u'\ngroups = ['a']\n"
         "roles = ['superuser']", "user 1: roles must be a list of admin, compliance"),
        ("[[users]]\ntenant_id = 't'\nobject_id = 'o'\nuser = 'u'\ngroups = ['a']\n"
         "[[users]]\ntenant_id = 'T'\nobject_id = 'O'\nuser = 'v'\ngroups = ['b']",
         "user 2: this Teams user is already listed"),
        ("users = [1]", "user 1: each user is a table"),
        ("[[users]\n", "cannot read"),
    ],
)
def test_a_wrong_file_is_a_settings_error_naming_the_variable_and_the_entry(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "users.toml"
    path.write_text(content)
    with pytest.raises(SettingsError) as caught:
        load_identities(path)
    assert str(caught.value).startswith("COFFRE_TEAMS_USERS: ")
    assert problem in str(caught.value)


def test_a_changed_file_is_read_again_without_a_restart(tmp_path: Path) -> None:
    path = users_file(tmp_path / "users.toml")
    identities = IdentityFile(path)
    assert identities.identify(TeamsUser(TENANT, STRANGER)) is None
    path.write_text(path.read_text() + f"""
[[users]]
tenant_id = "{TENANT}"
object_id = "{STRANGER}"
user = "dave"
groups = ["board"]
""")
    _touch_later(path)
    dave = identities.identify(TeamsUser(TENANT, STRANGER))
    assert dave is not None and dave.groups == frozenset({"board"})


def test_a_file_broken_while_running_refuses_everyone_until_fixed(tmp_path: Path) -> None:
    path = users_file(tmp_path / "users.toml")
    identities = IdentityFile(path)
    good = path.read_text()
    path.write_text(good.replace("[[users]]", "[[users]", 1))
    _touch_later(path)
    with pytest.raises(SettingsError, match="cannot read"):
        identities.identify(TeamsUser(TENANT, ALICE))
    path.write_text(good)
    _touch_later(path)
    assert identities.identify(TeamsUser(TENANT, ALICE)) is not None


def test_a_bad_file_stops_the_bot_from_starting(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text("users = 3")
    with pytest.raises(SettingsError, match="COFFRE_TEAMS_USERS"):
        IdentityFile(path)
