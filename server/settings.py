"""Every setting of a node, in one table: the command-line flag, the config-file directive,
the CONFIG GET/SET name, its default and whether it can be changed at run time.

The table is derived from the ``raftis server`` command's click options, so a new flag is a
new directive (and a new CONFIG GET name) with nothing else to edit; what this module adds is
which settings are runtime-tunable and what changing one does. ``docs/configuration.md``
holds the rendered table (``python -m server.settings`` prints it; a test fails when the
page is stale).

Names: a directive is the long flag without its dashes (``--snapshot-threshold`` ->
``snapshot-threshold``); Redis's spelling is accepted as an alias where Redis has the same
setting under another name (``loglevel``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

# Settings that CONFIG SET may change, and what else must happen when one changes.
TUNABLE = frozenset({
    "snapshot-threshold", "command-timeout", "log-level", "follower-mode",
    "slowlog-log-slower-than", "slowlog-max-len", "latency-monitor-threshold", "max-write-size",
    "acllog-max-len", "tracking-table-max-keys", "notify-keyspace-events",
})
ALIASES = {"loglevel": "log-level"}
# Redis's words for values Raftis spells differently.
VALUE_ALIASES = {"log-level": {"notice": "info", "verbose": "debug", "warn": "warning"}}
# Never echoed by CONFIG GET (written back by CONFIG REWRITE all the same).
SECRET = frozenset({"cluster-secret"})
# Flags that are not settings: where the settings come from, and test-only switches.
NOT_SETTINGS = frozenset({"config"})
# Parameter names whose NodeConfig field is spelt differently.
_FIELD = {"data_dir": "dir"}

# Redis settings a client may ask about with CONFIG GET; fixed in Raftis.
REDIS_FIXED = {
    "databases": "16",
    "save": "",
    "appendonly": "yes",
    "appendfsync": "always",
    "maxmemory": "0",
    "maxmemory-policy": "noeviction",
    "maxclients": "10000",
    "timeout": "0",
    "proto-max-bulk-len": str(512 * 1024 * 1024),
}


@dataclass(frozen=True, slots=True)
class Setting:
    name: str  # directive / CONFIG name
    param: str  # click parameter name
    field: str  # NodeConfig attribute
    option: click.Option
    tunable: bool

    @property
    def flag(self) -> str:
        return max(self.option.opts, key=len)

    @property
    def is_flag(self) -> bool:
        return bool(self.option.is_flag)

    @property
    def default(self) -> Any:
        return self.option.default

    def convert(self, text: str) -> Any:
        """A directive's text -> the value the flag would give, with the flag's checks."""
        if self.is_flag:
            low = text.strip().lower()
            if low in ("yes", "true", "on", "1"):
                return True
            if low in ("no", "false", "off", "0", ""):
                return False
            raise click.BadParameter(f"{self.name} takes yes or no, not {text!r}")
        text = VALUE_ALIASES.get(self.name, {}).get(text.strip().lower(), text)
        value = self.option.type.convert(text, self.option, None)
        if self.option.callback is not None:  # a size: "64mb" -> bytes
            value = self.option.callback(None, self.option, value)
        return value


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):  # peers
        return ",".join(f"{k}={v.encode()}" for k, v in sorted(value.items()))
    if value is None:
        return ""
    return str(value)


def _server_command() -> click.Command:
    from server.cli import main

    cmd = main.commands["server"]
    return cmd


def settings() -> list[Setting]:
    out = []
    for p in _server_command().params:
        if not isinstance(p, click.Option) or p.hidden or p.name in NOT_SETTINGS:
            continue
        name = max(p.opts, key=len).lstrip("-")
        out.append(Setting(name, p.name or name, _FIELD.get(p.name or "", p.name or name), p,
                           name in TUNABLE))
    return out


def by_name() -> dict[str, Setting]:
    table = {s.name: s for s in settings()}
    for alias, target in ALIASES.items():
        table[alias] = table[target]
    return table


def current_value(cfg: Any, s: Setting) -> Any:
    if hasattr(cfg, s.field):
        return getattr(cfg, s.field)
    return (getattr(cfg, "settings", None) or {}).get(s.param, s.default)


def config_values(cfg: Any) -> dict[str, str]:
    """CONFIG GET's view: every setting (and its Redis alias) plus Redis's fixed ones."""
    import os

    out: dict[str, str] = {}
    for s in settings():
        v = current_value(cfg, s)
        if s.name in SECRET:
            v = ""
        elif s.name == "dir":
            v = os.path.abspath(str(v))
        out[s.name] = format_value(v)
    for alias, target in ALIASES.items():
        out[alias] = out[target]
    for k, v in REDIS_FIXED.items():
        out.setdefault(k, v)
    return out


# -- CONFIG SET ------------------------------------------------------------------------------------
_HOOKS: dict[str, Callable[[Any, Any], None]] = {}


def on_change(name: str) -> Callable[[Callable[[Any, Any], None]], Callable[[Any, Any], None]]:
    def register(fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        _HOOKS[name] = fn
        return fn

    return register


@on_change("log-level")
def _set_log_level(node: Any, value: Any) -> None:
    logging.getLogger().setLevel(getattr(logging, str(value).upper(), logging.INFO))


@on_change("slowlog-log-slower-than")
def _set_slowlog_threshold(node: Any, value: Any) -> None:
    node.ops_stats.slowlog.threshold_us = int(value)


@on_change("slowlog-max-len")
def _set_slowlog_len(node: Any, value: Any) -> None:
    node.ops_stats.slowlog.set_max_len(int(value))


@on_change("acllog-max-len")
def _set_acllog_len(node: Any, value: Any) -> None:
    node.guard.acl_log.set_max_len(int(value))


@on_change("tracking-table-max-keys")
def _set_tracking_max(node: Any, value: Any) -> None:
    node.tracking.max_keys = int(value)


@on_change("notify-keyspace-events")
def _set_keyspace_events(node: Any, value: Any) -> None:
    node.set_keyspace_events(int(value))


@on_change("latency-monitor-threshold")
def _set_latency_threshold(node: Any, value: Any) -> None:
    node.ops_stats.latency.threshold_ms = int(value)


def config_set(node: Any, pairs: list[tuple[str, str]]) -> str | None:
    """CONFIG SET of one or more settings at run time; returns an error text, or None. As in
    Redis 7, every pair is checked first, and a refused one leaves all of them unchanged."""
    ready: list[tuple[Setting, Any]] = []
    seen: set[str] = set()
    for name, text in pairs:
        s = by_name().get(name.lower())
        key = s.name if s is not None else name.lower()
        if key in seen:
            return f"ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
        seen.add(key)
        if s is None:
            fixed = REDIS_FIXED.get(name.lower())
            if fixed is None:
                return f"ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            if text.lower() == fixed:
                continue  # what it is already (a setup script's CONFIG SET appendonly yes)
            return f"ERR CONFIG SET failed (possibly related to argument '{key}') - can't set immutable config"
        # As in Redis: a refused value names the setting in its own spelling; a duplicate or an
        # unknown name (above) in the client's.
        if not s.tunable:
            return f"ERR CONFIG SET failed (possibly related to argument '{key}') - can't set immutable config"
        try:
            ready.append((s, s.convert(text)))
        except click.BadParameter as e:
            return f"ERR CONFIG SET failed (possibly related to argument '{key}') - {_redis_wording(s, text, e)}"
    for s, value in ready:
        _apply(node, s, value)
    return None


def _apply(node: Any, s: Setting, value: Any) -> None:
    cfg = node.cfg
    if hasattr(cfg, s.field):
        setattr(cfg, s.field, value)
    cfg.settings[s.param] = value
    hook = _HOOKS.get(s.name)
    if hook is not None:
        hook(node, value)
    logging.getLogger("raftis.config").info("CONFIG SET %s %s", s.name,
                                             "(hidden)" if s.name in SECRET else format_value(value))


def _redis_wording(s: Setting, text: str, e: click.BadParameter) -> str:
    """Why ``text`` is refused, in Redis's words for its own settings of the same kind."""
    t = s.option.type
    if isinstance(t, click.Choice):
        return "argument(s) must be one of the following: " + ", ".join(t.choices)
    if isinstance(t, click.IntRange | click.FloatRange):
        kind = "an integer" if isinstance(t, click.IntRange) else "a number"
        try:
            (int if isinstance(t, click.IntRange) else float)(text)
        except ValueError:
            return f"argument couldn't be parsed into {kind}"
        if t.max is None:
            if isinstance(t, click.IntRange):
                return f"argument must be between {t.min} and {2**63 - 1} inclusive"
            return f"argument must be at least {t.min}"
        return f"argument must be between {t.min} and {t.max} inclusive"
    return e.message


def apply_initial(node: Any) -> None:
    """Carry out the start-up values of settings that other parts read from elsewhere."""
    for name in ("slowlog-log-slower-than", "slowlog-max-len", "latency-monitor-threshold"):
        s = by_name()[name]
        _HOOKS[name](node, current_value(node.cfg, s))


# -- docs/configuration.md ---------------------------------------------------------------------------
DOCS_BEGIN = "<!-- settings table: generated by `python -m server.settings`, do not edit by hand -->"
DOCS_END = "<!-- end of settings table -->"


def _doc_default(s: Setting) -> str:
    d = s.default
    if s.is_flag:
        return "no"
    if s.name == "raft-port":
        return "port + 10000"
    if d in ("", None):
        return "(none)"
    if s.name == "snapshot-threshold":
        return f"{d} (64 MiB)"
    return format_value(d)


def render_table() -> str:
    rows = ["| directive | flag | default | runtime (CONFIG SET) | meaning |", "|---|---|---|---|---|"]
    for s in settings():
        help_text = " ".join((s.option.help or "").split()).replace("|", "\\|")
        choices = getattr(s.option.type, "choices", None)
        if choices:
            help_text += " One of: " + ", ".join(f"`{c}`" for c in choices) + "."
        rows.append(f"| `{s.name}` | `{s.flag}` | `{_doc_default(s)}` | {'yes' if s.tunable else 'no'} "
                    f"| {help_text} |")
    return "\n".join([DOCS_BEGIN, *rows, DOCS_END])


if __name__ == "__main__":
    print(render_table())
