"""ACL rules in process: how rules combine, key patterns, movable keys, the internal user."""

from __future__ import annotations

import pytest

import server.commands  # noqa: F401  (registers every family)
from server.auth import AclError, User, UserDirectory, parse_acl_file
from server.commands.registry import lookup


def check(user: User, *argv: str):
    args = [a.encode() for a in argv]
    return user.check(lookup(args), args)


def test_rules_apply_in_order():
    u = User("u").apply(["on", "nopass", "allkeys", "+@all", "-@dangerous", "+config|get"])
    assert check(u, "GET", "k") is None
    assert check(u, "RAFT.SNAPSHOT") is not None  # @admin is @dangerous
    assert check(u, "CONFIG", "GET", "x") is None
    assert "'config|set'" in str(check(u, "CONFIG", "SET", "a", "b"))
    u = User("u").apply(["on", "allkeys", "+client", "-client|setname"])
    assert check(u, "CLIENT", "ID") is None and check(u, "CLIENT", "SETNAME", "n") is not None
    u.apply(["-client"])
    assert check(u, "CLIENT", "ID") is not None


def test_key_patterns_and_movable_keys():
    u = User("u").apply(["on", "~app:*", "~tmp?", "+@all"])
    assert check(u, "MSET", "app:1", "x", "tmp1", "y") is None
    assert "keys" in str(check(u, "MSET", "app:1", "x", "other", "y"))
    assert check(u, "LMPOP", "2", "app:a", "app:b", "LEFT") is None
    assert "keys" in str(check(u, "LMPOP", "2", "app:a", "secret", "LEFT"))
    assert check(u, "SINTERCARD", "1", "app:s") is None
    assert check(u, "XREAD", "COUNT", "1", "STREAMS", "app:a", "tmp1", "0", "$") is None
    assert "keys" in str(check(u, "XREAD", "STREAMS", "app:a", "secret", "0", "0"))
    assert "keys" in str(check(u, "XREADGROUP", "GROUP", "g", "streams", "STREAMS", "secret", ">"))
    assert check(u, "PING") is None  # no keys
    assert check(u, "GEORADIUS", "app:g", "0", "0", "1", "km", "STORE", "app:out") is None
    assert "keys" in str(check(u, "GEORADIUS", "app:g", "0", "0", "1", "km", "STOREDIST", "secret"))
    assert "keys" in str(check(u, "GEORADIUSBYMEMBER", "app:g", "m", "1", "km", "STORE", "secret"))
    assert check(u, "GEORADIUSBYMEMBER", "app:g", "m", "1", "km", "ASC") is None
    assert "keys" in str(check(u, "GEOSEARCHSTORE", "secret", "app:g", "FROMMEMBER", "m", "BYRADIUS", "1", "km"))
    # Shard channels sit where keys do, but are channels (Redis flags them not_key): the
    # channel rules decide, not the key patterns.
    assert "channels" in str(check(u, "SPUBLISH", "news", "m"))
    u.apply(["allchannels"])
    assert check(u, "SPUBLISH", "news", "m") is None
    assert check(u, "SSUBSCRIBE", "news", "more") is None
    u.apply(["resetkeys"])
    assert check(u, "GET", "app:1") is not None


def test_sort_patterns_need_every_key():
    # BY and GET read keys the command does not name: only a user allowed every key may use
    # them (Redis's rule); STORE's destination is checked as a key.
    u = User("u").apply(["on", "~app:*", "+@all"])
    assert check(u, "SORT", "app:l", "LIMIT", "0", "2", "ALPHA") is None
    assert check(u, "SORT", "app:l", "BY", "nosort") is None
    assert str(check(u, "SORT", "app:l", "BY", "w_*")) == \
        "ERR BY option of SORT denied due to insufficient ACL permissions."
    assert str(check(u, "SORT_RO", "app:l", "GET", "#")) == \
        "ERR GET option of SORT denied due to insufficient ACL permissions."
    assert check(u, "SORT", "app:l", "STORE", "app:out") is None
    assert "keys" in str(check(u, "SORT", "app:l", "STORE", "secret"))
    assert check(User("all").apply(["on", "allkeys", "+@all"]), "SORT", "x", "BY", "w_*", "GET", "#") is None


def test_passwords():
    u = User("u").apply(["on", ">one", ">two"])
    assert u.password_ok(b"one") and u.password_ok(b"two") and not u.password_ok(b"three")
    u.apply(["<one"])
    assert not u.password_ok(b"one")
    u.apply(["off"])
    assert not u.password_ok(b"two")
    assert User("x").apply(["on", "nopass"]).password_ok(b"anything")
    assert not User("y").apply(["on"]).password_ok(b"")  # no password set: nobody logs in


@pytest.mark.parametrize("line", [
    "user a on +nosuchcommand", "user a on +@nosuchcategory", "user a on +client|nosuch", "user a on %R~x",
    "user a on #nothex", "user a on bogus", "nouser a", "user a on\nuser a off", "user raftis:node on nopass",
])
def test_bad_lines_are_refused(line):
    with pytest.raises(AclError):
        parse_acl_file(line)


def test_directory_and_internal_credential():
    d = UserDirectory("pw", "user app on >x ~a:* +get", "secret")
    assert d.auth_required and d.authenticate(b"default", b"pw") is d.default
    assert d.authenticate(b"app", b"x").name == "app"
    assert d.authenticate(b"nobody", b"x") is None
    argv = d.internal_auth()
    assert argv is not None and d.authenticate(argv[1], argv[2]).unrestricted
    # the credential depends on the secret only, so every node derives the same one
    assert UserDirectory("other", "", "secret").internal_auth() == argv
    assert UserDirectory("", "", "").internal_auth() is None
    assert not UserDirectory("", "", "").auth_required
