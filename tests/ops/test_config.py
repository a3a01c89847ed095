"""The config file, CONFIG GET/SET/REWRITE, and docs/configuration.md kept in step with the
settings table."""

import os

import click
import pytest

from server import settings
from server.config import NodeConfig
from server.config_file import REWRITE_MARKER, ConfigFileError, load, parse, rewrite
from tests.integration.cluster import free_ports
from tests.ops.conftest import ROOT


def test_docs_list_every_setting():
    with open(os.path.join(ROOT, "docs", "configuration.md")) as f:
        doc = f.read()
    assert settings.render_table() in doc, (
        "docs/configuration.md is stale: replace its settings table with the output of "
        "`python -m server.settings`")


def test_every_flag_is_a_setting_and_names_are_unique():
    names = [s.name for s in settings.settings()]
    assert len(names) == len(set(names))
    for required in ("port", "bind", "dir", "id", "raft-port", "peers", "join", "follower-mode",
                     "snapshot-threshold", "command-timeout", "log-level", "metrics-port"):
        assert required in names
    for name in settings.TUNABLE:
        assert name in names


def test_parse_comments_quotes_and_errors(tmp_path):
    p = tmp_path / "raftis.conf"
    p.write_text('# a comment\n\nport 7001   # trailing\nbind "127.0.0.1"\npeers ""\n'
                 'stale-reads yes\nloglevel warning\nsnapshot-threshold 65536\n')
    values = load(str(p))
    assert values == {"port": 7001, "bind": "127.0.0.1", "peers": "", "stale_reads": True,
                      "log_level": "warning", "snapshot_threshold": 65536}
    for bad, msg in [("nosuch 1\n", "unknown directive"), ("port 1\nport 2\n", "already set"),
                     ("port notanumber\n", "bad value"), ("port 1 2\n", "one value"),
                     ("stale-reads maybe\n", "yes or no")]:
        p.write_text(bad)
        with pytest.raises(ConfigFileError, match=msg) as e:
            load(str(p))
        assert ":1:" in str(e.value) or ":2:" in str(e.value)


def test_rewrite_keeps_comments_and_appends_changed_settings(tmp_path):
    p = tmp_path / "raftis.conf"
    p.write_text("# Raftis node 1\nport 7001\n\n# how big the log may grow\nsnapshot-threshold 65536\n"
                 "loglevel info\n")
    cfg = NodeConfig(port=7001, snapshot_threshold=131072, log_level="debug", command_timeout=3.5,
                     cluster_secret="from-the-environment")
    cfg.settings = {}
    rewrite(str(p), cfg)
    text = p.read_text()
    assert text.startswith("# Raftis node 1\nport 7001\n\n# how big the log may grow\nsnapshot-threshold 131072\n"
                           "loglevel debug\n")
    assert REWRITE_MARKER in text and "command-timeout 3.5" in text
    assert "log-level" not in text  # already there under its Redis name
    assert "from-the-environment" not in text
    assert [d.name for d in parse(str(p))].count("command-timeout") == 1
    rewrite(str(p), cfg)  # idempotent
    assert p.read_text() == text


def test_flags_override_the_file_and_config_commands(single, tmp_path):
    port, other = free_ports(2)
    conf = tmp_path / "node.conf"
    conf.write_text(f"# test node\nport {other}\nsnapshot-threshold 65536\ncommand-timeout 7\n"
                    "slowlog-max-len 5\nnotify-keyspace-events \"KEx$\"\n")
    node = single(["--config", str(conf)])
    node.port = port  # --port on the command line wins over the file's
    node.start()
    r = node.client()
    got = r.config_get("*")
    for s in settings.settings():
        assert s.name in got, s.name
    assert got["port"] == str(port) and got["snapshot-threshold"] == "65536" and got["command-timeout"] == "7"
    assert got["slowlog-max-len"] == "5" and got["loglevel"] == got["log-level"] == "info"
    assert got["save"] == "" and got["appendonly"] == "yes"
    assert got["notify-keyspace-events"] == "$xKE"  # Redis's spelling of the same classes
    assert r.config_set("notify-keyspace-events", "KEA")
    with pytest.raises(Exception, match="'notify-keyspace-events'. - Invalid event class character"):
        r.config_set("notify-keyspace-events", "KEQ")
    assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AKE"}

    assert r.config_set("snapshot-threshold", 200000)
    assert r.config_set("loglevel", "notice")  # Redis's word for info
    assert r.config_get("loglevel") == {"loglevel": "info"}
    assert r.config_set("loglevel", "warning")
    assert r.config_get("log-level") == {"log-level": "warning"}
    with pytest.raises(Exception, match="immutable"):
        r.config_set("port", 1234)
    with pytest.raises(Exception, match="Unknown option"):
        r.config_set("no-such-thing", 1)
    # Several pairs: all are checked before any is applied, as in Redis 7.
    before = r.config_get("slowlog-max-len")["slowlog-max-len"]
    with pytest.raises(Exception, match="'slowlog-log-slower-than'. - argument couldn't be parsed"):
        r.execute_command("CONFIG", "SET", "slowlog-max-len", "77", "slowlog-log-slower-than", "x")
    assert r.config_get("slowlog-max-len")["slowlog-max-len"] == before
    with pytest.raises(Exception, match="duplicate parameter"):
        r.execute_command("CONFIG", "SET", "slowlog-max-len", "77", "SLOWLOG-MAX-LEN", "78")
    assert r.execute_command("CONFIG", "SET", "slowlog-max-len", "77", "slowlog-log-slower-than", "5000")
    assert r.config_get("slowlog-*") == {"slowlog-max-len": "77", "slowlog-log-slower-than": "5000"}
    # Redis settings Raftis keeps fixed: their value is accepted, another is refused.
    assert r.config_set("maxmemory-policy", "noeviction") and r.config_set("appendonly", "yes")
    with pytest.raises(Exception, match="'maxmemory-policy'. - can't set immutable config"):
        r.config_set("maxmemory-policy", "allkeys-lru")
    with pytest.raises(Exception, match="snapshot-threshold"):
        r.config_set("snapshot-threshold", "lots")
    # Refused values are explained in Redis's words.
    with pytest.raises(Exception, match="'slowlog-max-len'. - argument couldn't be parsed into an integer$"):
        r.config_set("SLOWLOG-Max-Len", "x")
    with pytest.raises(Exception, match="argument must be between -1 and 9223372036854775807 inclusive$"):
        r.config_set("slowlog-log-slower-than", "-5")
    with pytest.raises(Exception, match="argument.s. must be one of the following: forward, redirect$"):
        r.config_set("follower-mode", "proxy")
    assert r.execute_command("CONFIG", "REWRITE") == b"OK"
    text = conf.read_text()
    assert text.startswith("# test node\n")
    assert "snapshot-threshold 200000" in text and "log-level warning" in text
    assert "notify-keyspace-events AKE" in text
    assert f"port {port}" in text  # the running value

    node.stop()
    again = single(["--config", str(conf)], name="again")
    again.port = port
    again.dir = node.dir
    again.start(with_ports=False, extra=["--dir", node.dir])
    got = again.client().config_get("*")
    assert got["snapshot-threshold"] == "200000" and got["log-level"] == "warning"
    assert got["notify-keyspace-events"] == "AKE"


def test_config_rewrite_without_a_file(single):
    r = single().start().client()
    with pytest.raises(Exception, match="without a config file"):
        r.execute_command("CONFIG", "REWRITE")


def _parse_server_args(args: list[str]) -> NodeConfig:
    from server.cli import _build_config, main

    ctx = main.commands["server"].make_context("server", list(args))
    return _build_config(**ctx.params)


def test_compose_file_parses_and_its_commands_are_accepted():
    yaml = pytest.importorskip("yaml")

    with open(os.path.join(ROOT, "docker", "compose.yml")) as f:
        compose = yaml.safe_load(f)
    with open(os.path.join(ROOT, "docker", "Dockerfile")) as f:
        entry = next(line for line in f if line.startswith("ENTRYPOINT"))
    import json

    entrypoint = json.loads(entry.split(None, 1)[1])
    assert entrypoint[:2] == ["raftis", "server"]
    services = compose["services"]
    assert len(services) == 3
    for svc in services.values():
        cfg = _parse_server_args(entrypoint[2:] + svc["command"])
        assert len(cfg.peers) == 3 and cfg.node_id in cfg.peers


def test_kubernetes_statefulset_parses_and_its_command_is_accepted():
    yaml = pytest.importorskip("yaml")

    with open(os.path.join(ROOT, "docker", "k8s", "statefulset.yaml")) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    kinds = {d["kind"] for d in docs}
    assert {"StatefulSet", "Service"} <= kinds
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    headless = [d for d in docs if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None"]
    assert headless and sts["spec"]["serviceName"] == headless[0]["metadata"]["name"]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    script = container["args"][-1]
    # The start script execs raftis server; expand its variables as the shell would for a
    # founding pod, a scale-out pod and a restart, and check the CLI accepts each.
    import re
    import shlex

    line = next(x for x in script.splitlines() if "exec raftis server" in x).strip()
    domain = "raftis.default.svc.cluster.local"
    peers = ",".join(f"{i + 1}=raftis-{i}.{domain}:16379:6379" for i in range(3))
    for ordinal, mode in [(0, f"--peers {peers}"), (4, "--join raftis-client.default.svc.cluster.local:6379"),
                          (1, "")]:
        env = {"ID": str(ordinal + 1), "SELF": f"raftis-{ordinal}.{domain}", "MODE": mode}
        expanded = re.sub(r"\$\{(\w+)\}", lambda m, env=env: env[m.group(1)], line)
        argv = shlex.split(expanded)
        assert argv[:3] == ["exec", "raftis", "server"]
        cfg = _parse_server_args(argv[3:])
        assert cfg.node_id == ordinal + 1 and cfg.port == 6379 and cfg.raft_port == 16379
        assert bool(cfg.peers) == (ordinal == 0) and bool(cfg.join) == (ordinal == 4)
    with pytest.raises(click.exceptions.UsageError):
        _parse_server_args(["--peers", "1=a:1:2", "--join", "b:3"])
