import pytest

from server.config import ConfigError, parse_peers, split_address


def test_parse_peers():
    peers = parse_peers("1=127.0.0.1:17001:7001, 2=[::1]:17002:7002")
    assert peers[1].host == "127.0.0.1" and peers[1].raft_port == 17001 and peers[1].port == 7001
    assert peers[2].host == "::1" and peers[2].encode() == "::1:17002:7002" or peers[2].port == 7002


@pytest.mark.parametrize("bad", ["", "x=1:2:3", "0=h:1:2", "1=h:1", "1=h:a:b", "1=h:1:2,1=h:3:4", "1=h:0:2"])
def test_bad_peers(bad):
    with pytest.raises(ConfigError):
        parse_peers(bad)


def test_split_address():
    assert split_address("host:1", 2) == ["host", "1"]
    with pytest.raises(ConfigError):
        split_address("host:99999", 2)
