"""Users, passwords and ACL rules, without any I/O.

A ``User`` is built by applying Redis ACL rules in order (the subset of ``ACL SETUSER``
syntax that ACL files use)::

    on | off                      enable / disable the user
    >password  <password          add / remove a password (stored as SHA-256 only)
    #<sha256-hex>  !<sha256-hex>  add / remove a password by its hash
    nopass  resetpass             any password works / forget every password
    ~pattern  allkeys  resetkeys  key patterns (glob); allkeys is ~*
    &pattern  allchannels  resetchannels   pub/sub channels (PUBLISH, SUBSCRIBE, PSUBSCRIBE)
    +@category  -@category        allow / deny every command of a category (+@all, -@all)
    +command  -command            allow / deny a command (with all its subcommands)
    +command|sub  -command|sub    allow / deny one subcommand
    allcommands  nocommands       +@all / -@all
    reset                         back to a fresh user: off, no passwords, no keys, no commands

A new user has no commands, no keys and no passwords and is off, as in Redis.  Commands'
categories and key positions come from the command table (``acl_categories``,
``keys_of``).  ``User.check`` answers ``None`` (allowed) or Redis 7's exact ``-NOPERM``
error.

Passwords are kept as SHA-256 hex digests and compared in constant time.  The ``default``
user exists always: with ``requirepass`` it is ``on #<hash> ~* &* +@all``; without it and
without a ``user default`` line, ``on nopass ~* &* +@all`` (every client is that user).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from resp.types import ErrorReply
from server.commands.glob import compile_glob
from server.commands.registry import COMMANDS, Command, keys_of
from server.commands.streams import stream_read_keys

__all__ = [
    "NOAUTH",
    "AclError",
    "AclRuleError",
    "User",
    "UserDirectory",
    "all_commands",
    "categories",
    "parse_acl_file",
]

NOAUTH = ErrorReply("NOAUTH Authentication required.")
NOPERM_KEY = ErrorReply("NOPERM this user has no permissions to access one of the keys used as arguments")
NOPERM_CHANNEL = ErrorReply("NOPERM this user has no permissions to access one of the channels used as arguments")
INTERNAL_USER = "raftis:node"

# Commands that name pub/sub channels, and where: argv[start:end].
_CHANNEL_ARGS: dict[bytes, tuple[int, int | None]] = {
    b"publish": (1, 2),
    b"spublish": (1, 2),
    b"subscribe": (1, None),
    b"ssubscribe": (1, None),
    b"psubscribe": (1, None),
}


# Commands that run a Lua script (its redis.call()s are not checked against the user).
SCRIPT_RUNNERS = frozenset({b"eval", b"evalsha", b"eval_ro", b"evalsha_ro", b"fcall", b"fcall_ro"})


class AclError(ValueError):
    """A rule or an ACL file line that cannot be applied."""


class AclRuleError(AclError):
    """ACL SETUSER's rule ``rule`` cannot be applied, for Redis's ``reason``."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule


def password_hash(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def all_commands() -> list[Command]:
    """Every command a client can run, containers' subcommands included."""
    out: list[Command] = []
    for cmd in COMMANDS.values():
        if cmd.internal:
            continue
        out.append(cmd)
        if cmd.subcommands:
            out.extend(cmd.subcommands.values())
    return out


def categories() -> list[str]:
    """Category names (without '@') in Redis's order, then any others the table uses."""
    order = ("keyspace read write set sortedset list hash string bitmap hyperloglog geo stream pubsub "
             "admin fast slow blocking dangerous connection transaction scripting").split()
    seen = {c.lstrip("@") for cmd in all_commands() for c in cmd.acl_categories}
    return order + sorted(seen - set(order))


def _numkeys_at(pos: int) -> Callable[[list[bytes]], list[bytes]]:
    def keys(argv: list[bytes]) -> list[bytes]:
        try:
            n = int(argv[pos])
        except (IndexError, ValueError):
            return []
        return argv[pos + 1 : pos + 1 + max(n, 0)]

    return keys


# Commands whose keys are not at fixed positions (flag ``movablekeys``): where numkeys is.
def _sort_store(argv: list[bytes]) -> list[bytes]:
    """SORT's STORE destination (its other option arguments are patterns, not keys)."""
    keys, j = [], 2
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"limit":
            j += 3
        elif opt in (b"by", b"get"):
            j += 2
        elif opt == b"store" and j + 1 < len(argv):
            keys.append(argv[j + 1])
            j += 2
        else:
            j += 1
    return keys


def _georadius_store(base: int) -> Callable[[list[bytes]], list[bytes]]:
    """GEORADIUS's (and GEORADIUSBYMEMBER's) STORE and STOREDIST destinations: Redis's key
    specs take the word after the first STORE and the first STOREDIST past the fixed
    arguments."""

    def keys(argv: list[bytes]) -> list[bytes]:
        out = []
        for word in (b"store", b"storedist"):
            for j in range(base, len(argv) - 1):
                if argv[j].lower() == word:
                    out.append(argv[j + 1])
                    break
        return out

    return keys


def sort_pattern_denied(argv: list[bytes]) -> ErrorReply | None:
    """SORT's BY (with a '*') and GET read keys the command does not name: as in Redis, only
    a user allowed every key may use them."""
    j = 2
    while j < len(argv) - 1:
        opt = argv[j].lower()
        if opt == b"limit":
            j += 3
            continue
        if opt == b"by" and b"*" in argv[j + 1]:
            return ErrorReply("ERR BY option of SORT denied due to insufficient ACL permissions.")
        if opt == b"get":
            return ErrorReply("ERR GET option of SORT denied due to insufficient ACL permissions.")
        j += 2 if opt in (b"by", b"store") else 1
    return None


_MOVABLE: dict[bytes, Callable[[list[bytes]], list[bytes]]] = {
    b"sort": _sort_store,
    b"sort_ro": _sort_store,
    b"lmpop": _numkeys_at(1),
    b"blmpop": _numkeys_at(2),
    b"sintercard": _numkeys_at(1),
    b"zunionstore": _numkeys_at(2),
    b"zinterstore": _numkeys_at(2),
    b"zdiffstore": _numkeys_at(2),
    b"zunion": _numkeys_at(1),
    b"zinter": _numkeys_at(1),
    b"zdiff": _numkeys_at(1),
    b"zintercard": _numkeys_at(1),
    b"zmpop": _numkeys_at(1),
    b"bzmpop": _numkeys_at(2),
    b"georadius": _georadius_store(6),
    b"georadiusbymember": _georadius_store(5),
    b"xread": stream_read_keys,
    b"xreadgroup": stream_read_keys,
}


def command_keys(cmd: Command, argv: list[bytes]) -> list[bytes] | None:
    """The keys ``argv`` touches, or ``None`` when they cannot be told (deny then)."""
    if "movablekeys" in cmd.flags:
        finder = _MOVABLE.get(cmd.name)
        if finder is None:
            return None
        extra = keys_of(cmd, argv) if cmd.first_key > 0 else []
        return extra + finder(argv)
    return keys_of(cmd, argv)


# Redis's reasons for a rule it cannot apply (``ACLSetUserStringError``).
SYNTAX = "Syntax error"
UNKNOWN_NAME = "Unknown command or category name in ACL"
KEYS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have "
                  "any effect. Try 'resetkeys' to start with an empty list of patterns")
CHANNELS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does "
                      "not have any effect. Try 'resetchannels' to start with an empty list of channels")
NO_SUCH_PASSWORD = "The password you are trying to remove from the user does not exist"
BAD_HASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
_HEX = frozenset("0123456789abcdef")


@dataclass(slots=True, eq=False)
class User:
    name: str
    enabled: bool = False
    nopass: bool = False
    sanitize: str = ""  # "sanitize-payload", "skip-sanitize-payload" or neither (shown, not used)
    passwords: set[str] = field(default_factory=set)  # SHA-256 hex digests
    allowed: set[bytes] = field(default_factory=set)  # command names, "container|sub" for subcommands
    all_commands: bool = False  # the last category rule was +@all with nothing removed since
    key_patterns: list[bytes] = field(default_factory=list)
    all_keys: bool = False
    channels: list[str] = field(default_factory=list)  # pub/sub channel patterns; ["*"]: allchannels
    command_rules: list[str] = field(default_factory=list)  # as given, for ACL LIST
    _key_match: list[Callable[[bytes], bool]] = field(default_factory=list)
    _channel_match: list[Callable[[bytes], bool]] = field(default_factory=list)

    # -- building ------------------------------------------------------------------------------
    def apply(self, rules: Iterable[str]) -> User:
        for rule in rules:
            self.apply_rule(rule)
        return self

    def copy(self) -> User:
        twin = User(self.name)
        for name in User.__slots__:
            value = getattr(self, name)
            setattr(twin, name, value.copy() if isinstance(value, (set, list)) else value)
        return twin

    def replace_with(self, other: User) -> None:
        """Take ``other``'s rules in place (connections logged in as this user see them)."""
        for name in User.__slots__:
            if name != "name":
                setattr(self, name, getattr(other, name))

    def apply_rule(self, rule: str) -> None:
        """Apply one rule; ``AclError`` carries Redis's reason when it cannot be applied (the
        user may then be half changed: apply rules to a ``copy`` to change a user atomically)."""
        low = rule.lower()
        if low == "on":
            self.enabled = True
        elif low == "off":
            self.enabled = False
        elif low == "nopass":
            self.nopass = True
            self.passwords.clear()
        elif low == "resetpass":
            self.nopass = False
            self.passwords.clear()
        elif low in ("sanitize-payload", "skip-sanitize-payload"):
            self.sanitize = low
        elif rule.startswith(">"):
            self.passwords.add(password_hash(rule[1:].encode()))
            self.nopass = False
        elif rule.startswith("<"):
            digest = password_hash(rule[1:].encode())
            if digest not in self.passwords:
                raise AclError(NO_SUCH_PASSWORD)
            self.passwords.discard(digest)
        elif rule.startswith("#") or rule.startswith("!"):
            digest = rule[1:]
            if len(digest) != 64 or not _HEX.issuperset(digest):
                raise AclError(BAD_HASH)
            if rule[0] == "#":
                self.passwords.add(digest)
                self.nopass = False
            elif digest in self.passwords:
                self.passwords.discard(digest)
            else:
                raise AclError(NO_SUCH_PASSWORD)
        elif low == "allkeys" or rule == "~*":
            self.all_keys = True
            self.key_patterns = [b"*"]
            self._key_match = []
        elif low == "resetkeys":
            self.all_keys = False
            self.key_patterns = []
            self._key_match = []
        elif rule.startswith("~"):
            if self.all_keys:
                raise AclError(KEYS_AFTER_ALL)
            pat = rule[1:].encode()
            self.key_patterns.append(pat)
            self._key_match.append(compile_glob(pat))
        elif rule.startswith("%"):
            raise AclError("read/write key permissions (%R~, %W~) are not supported")
        elif low == "allchannels" or rule == "&*":
            self.channels = ["*"]
            self._channel_match = []
        elif low == "resetchannels":
            self.channels = []
            self._channel_match = []
        elif rule.startswith("&"):
            if self.channels == ["*"]:
                raise AclError(CHANNELS_AFTER_ALL)
            self.channels.append(rule[1:])
            self._channel_match.append(compile_glob(rule[1:].encode(errors="surrogateescape")))
        elif low in ("allcommands", "+@all"):
            self.allowed = {c.name for c in all_commands()}
            self.all_commands = True
            self.command_rules = ["+@all"]
        elif low in ("nocommands", "-@all"):
            self.allowed = set()
            self.all_commands = False
            self.command_rules = ["-@all"]
        elif rule[:1] in ("+", "-") and len(rule) > 1:
            self._command_rule(rule)
        elif low == "reset":
            self.replace_with(User(self.name))
            self.sanitize = "sanitize-payload"
        elif rule.startswith("(") or low == "clearselectors":
            raise AclError("selectors are not supported")
        else:
            raise AclError(SYNTAX)

    def _command_rule(self, rule: str) -> None:
        add = rule[0] == "+"
        what = rule[1:].lower()
        if what.startswith("@"):
            cat = what
            if cat[1:] not in categories():
                raise AclError(UNKNOWN_NAME)
            names = {c.name for c in all_commands() if cat in c.acl_categories}
        else:
            container, _, sub = what.partition("|")
            cmd = COMMANDS.get(container.encode())
            if cmd is None or cmd.internal:
                raise AclError(UNKNOWN_NAME)
            if sub:
                if not cmd.subcommands:
                    raise AclError("rules for a command's first argument (such as +select|0) are not supported")
                if sub.encode() not in cmd.subcommands:
                    raise AclError(UNKNOWN_NAME)
                names = {cmd.subcommands[sub.encode()].name}
            else:
                names = {cmd.name} | {s.name for s in (cmd.subcommands or {}).values()}
            # A later rule for the same command replaces an earlier one in the description.
            self.command_rules = [r for r in self.command_rules if r[1:] != what]
        if add:
            self.allowed |= names
        else:
            self.allowed -= names
            self.all_commands = False
        self.command_rules.append(rule[0] + what)

    # -- using ---------------------------------------------------------------------------------
    def password_ok(self, password: bytes) -> bool:
        if not self.enabled:
            return False
        if self.nopass:
            return True
        digest = password_hash(password)
        ok = False
        for h in self.passwords:
            ok |= hmac.compare_digest(h, digest)
        return ok

    @property
    def unrestricted(self) -> bool:
        """Every command on every key and channel: the connection needs no per-command check."""
        return self.all_commands and self.all_keys and self.channels == ["*"]

    @property
    def may_run_scripts(self) -> bool:
        return self.all_commands and self.all_keys

    def channel_denied(self, channel: bytes, pattern: bool) -> bool:
        """May not use ``channel`` (a PSUBSCRIBE ``pattern`` must be one of the user's own
        patterns, as in Redis, since it would match channels the user's patterns do not)."""
        if self.channels == ["*"]:
            return False
        if pattern:
            return channel.decode(errors="surrogateescape") not in self.channels
        return not any(m(channel) for m in self._channel_match)

    def check(self, cmd: Command, argv: list[bytes]) -> ErrorReply | None:
        denied = self.denial(cmd, argv)
        return None if denied is None else denied[0]

    def denial(self, cmd: Command, argv: list[bytes]) -> tuple[ErrorReply, str, bytes] | None:
        """``None`` when the user may run ``argv``; else the error, and what ACL LOG records:
        the reason (``command`` or ``key``) and the command's name or the key refused."""
        if cmd.name not in self.allowed and "no_auth" not in cmd.flags:  # AUTH, HELLO: always
            return (ErrorReply(f"NOPERM this user has no permissions to run the "
                               f"'{cmd.name.decode(errors='replace')}' command"), "command", cmd.name)
        if cmd.name in SCRIPT_RUNNERS and not self.may_run_scripts:
            # A script's commands run as the log is applied, where no user is known: a user
            # limited to some commands or keys could reach the others through a script.
            return (ErrorReply(f"NOPERM this user has no permissions to run the "
                               f"'{cmd.name.decode(errors='replace')}' command: scripts need a user "
                               "allowed every command on every key"), "command", cmd.name)
        where = _CHANNEL_ARGS.get(cmd.name)
        if where is not None and self.channels != ["*"]:
            pattern = cmd.name == b"psubscribe"
            for channel in argv[where[0]:where[1]]:
                if self.channel_denied(channel, pattern):
                    return NOPERM_CHANNEL, "channel", channel
        if self.all_keys or cmd.first_key <= 0 and "movablekeys" not in cmd.flags:
            return None
        if "pubsub" in cmd.flags:
            return None  # SPUBLISH's and SSUBSCRIBE's "keys" are shard channels (Redis: not_key)
        if cmd.name in (b"sort", b"sort_ro"):
            denied = sort_pattern_denied(argv)
            if denied is not None:
                return denied, "key", b"*"
        keys = command_keys(cmd, argv)
        if keys is None:
            return NOPERM_KEY, "key", b""
        matchers = self._key_match
        for key in keys:
            if not any(m(key) for m in matchers):
                return NOPERM_KEY, "key", key
        return None

    # -- describing ------------------------------------------------------------------------------
    def flags(self) -> list[str]:
        """As ``ACL GETUSER`` lists them, in Redis's order."""
        out = ["on" if self.enabled else "off"]
        if self.nopass:
            out.append("nopass")
        if self.sanitize:
            out.append(self.sanitize)
        return out

    def commands_text(self) -> str:
        rules = self.command_rules
        if not rules or rules[0] not in ("+@all", "-@all"):
            rules = ["-@all", *rules]
        return " ".join(rules)

    def keys_text(self) -> str:
        if self.all_keys:
            return "~*"
        return " ".join(f"~{p.decode(errors='replace')}" for p in self.key_patterns)

    def channels_text(self) -> str:
        return " ".join(f"&{p}" for p in self.channels)

    def describe(self) -> str:
        """The user as ``ACL LIST`` shows it (and ``ACL SAVE`` writes it)."""
        parts = ["user", self.name, *self.flags()]
        parts += [f"#{h}" for h in sorted(self.passwords)]
        if self.key_patterns or self.all_keys:
            parts.append(self.keys_text())
        parts.append(self.channels_text() or "resetchannels")
        parts.append(self.commands_text())
        return " ".join(parts)


def parse_acl_file(text: str) -> dict[str, User]:
    """Redis ACL file lines ``user <name> <rule> ...``; blank lines and ``#`` comments are
    skipped.  Raises ``AclError`` naming the line."""
    users: dict[str, User] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] != "user" or len(words) < 2:
            raise AclError(f"line {n}: should start with 'user <name>'")
        name = words[1]
        if name in users:
            raise AclError(f"line {n}: user '{name}' is defined twice")
        if name == INTERNAL_USER:
            raise AclError(f"line {n}: the user name '{name}' is reserved")
        user = User(name)
        for rule in words[2:]:
            try:
                user.apply_rule(rule)
            except AclError as e:
                raise AclError(f"line {n}: '{rule}': {e}") from None
        users[name] = user
    return users


class UserDirectory:
    """Every user the node knows, and how a client proves to be one.

    ``internal_password`` (derived from the cluster secret, or from ``requirepass`` when no
    secret is set) authenticates nodes' own connections to each other's client port
    (follower forwarding, join, admin relays) as ``raftis:node``, a user with every
    permission: the follower has already checked its client's permissions before relaying.
    """

    def __init__(self, requirepass: str = "", acl_text: str = "", cluster_secret: str = "") -> None:
        self.requirepass = requirepass
        self.users = self.parse(acl_text)
        key = cluster_secret or requirepass
        self.internal_password = (
            hmac.new(key.encode(), b"raftis internal client credential v1", hashlib.sha256).hexdigest()
            if key else ""
        )
        self.internal_user = User(INTERNAL_USER).apply(["on", "allkeys", "&*", "+@all"])
        self.internal_user.passwords.add(password_hash(self.internal_password.encode()))

    def parse(self, acl_text: str) -> dict[str, User]:
        """The users of an ACL file's text, with the ``default`` user completed as start-up
        does (``requirepass`` sets its password).  Raises ``AclError``."""
        users = parse_acl_file(acl_text) if acl_text else {}
        default = users.get("default")
        if default is None:
            default = User("default").apply(["on", "~*", "&*", "+@all"])
            users = {"default": default, **users}
            if self.requirepass:
                default.apply([">" + self.requirepass])
            else:
                default.apply(["nopass"])
        elif self.requirepass:
            default.apply(["resetpass", ">" + self.requirepass])
        return users

    def setuser(self, name: str, rules: list[str]) -> User:
        """ACL SETUSER: create ``name`` or change it, all rules or none.  Raises ``AclError``
        as ``(rule, reason)``."""
        if name == INTERNAL_USER:
            raise AclRuleError(name, f"the user name '{name}' is reserved")
        user = self.users.get(name)
        draft = user.copy() if user is not None else User(name)
        for rule in rules:
            try:
                draft.apply_rule(rule)
            except AclError as e:
                raise AclRuleError(rule, str(e)) from None
        if user is None:
            self.users[name] = user = draft
        else:
            user.replace_with(draft)
        return user

    def in_order(self) -> list[User]:
        """Every user, by name (as Redis lists them)."""
        return [self.users[name] for name in sorted(self.users)]

    @property
    def auth_required(self) -> bool:
        """Connections start unauthenticated (the default user needs a password or is off)."""
        d = self.users["default"]
        return not (d.enabled and d.nopass)

    @property
    def default(self) -> User:
        return self.users["default"]

    def authenticate(self, name: bytes, password: bytes) -> User | None:
        uname = name.decode(errors="replace")
        if uname == INTERNAL_USER:
            user = self.internal_user if self.internal_password else None
        else:
            user = self.users.get(uname)
        if user is None:
            # Spend the same time as a wrong password, so user names cannot be probed.
            hmac.compare_digest(password_hash(password), password_hash(b""))
            return None
        return user if user.password_ok(password) else None

    def internal_auth(self) -> list[bytes] | None:
        """The AUTH command a node sends on its own connections to another node's client port."""
        if not self.internal_password or not self.auth_required:
            return None
        return [b"AUTH", INTERNAL_USER.encode(), self.internal_password.encode()]
