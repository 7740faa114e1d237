"""`colonies security`: a new key with its id, and the id of a key; never a key unasked."""
from __future__ import annotations

import json

from colonies import crypto, dev
from tests.support.cli import invoke, ok, refused, run


def test_generate_prints_a_key_and_its_id() -> None:
    lines = ok({}, "security", "generate").stdout.splitlines()
    prvkey, identity = lines[0].removeprefix("prvkey: "), lines[1].removeprefix("id:     ")
    assert crypto.id_from_private_key(prvkey) == identity
    both = json.loads(ok({}, "security", "generate", "--json").stdout)
    assert crypto.id_from_private_key(both["prvkey"]) == both["id"] and both["prvkey"] != prvkey


def test_id_shows_the_id_of_the_flag_env_or_stdin_key_and_never_the_key() -> None:
    env = {"COLONIES_PRVKEY": dev.PRVKEY}
    assert ok(env, "security", "id").stdout.strip() == dev.ID
    assert ok(env, "security", "id", "--prvkey", dev.SERVER_PRVKEY).stdout.strip() == dev.SERVER_ID
    from_stdin = invoke({}, "security", "id", "--prvkey", "-", input=dev.COLONY_PRVKEY + "\n")
    assert from_stdin.exit_code == 0 and from_stdin.stdout.strip() == dev.COLONY_ID
    assert dev.PRVKEY not in ok(env, "security", "id").output


def test_a_missing_or_bad_key_is_one_line() -> None:
    assert "COLONIES_PRVKEY" in refused({"COLONIES_PRVKEY": ""}, "security", "id").stderr
    assert "not a private key" in refused({}, "security", "id", "--prvkey", "zz").stderr


def test_security_as_a_subprocess() -> None:
    generated = run({}, "security", "generate", "--json")
    assert generated.returncode == 0, generated.stderr
    key = json.loads(generated.stdout)
    shown = run({"COLONIES_PRVKEY": key["prvkey"]}, "security", "id")
    assert shown.returncode == 0 and shown.stdout.strip() == key["id"]
