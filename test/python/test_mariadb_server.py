"""The MariaDB test fixture itself: two servers side by side, server options applied, nothing left running."""

import os

import pytest

from mariadb_server import running_servers


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_servers_run_side_by_side_with_their_own_options_and_are_stopped_at_the_end():
    with running_servers() as servers:
        source = servers.start("source", options=["--log-bin", "--server-id=7"])
        target = servers.start("target")
        assert source.port != target.port
        assert source.execute("SELECT @@log_bin, @@server_id, @@bind_address") == ((1, 7, "127.0.0.1"),)
        assert target.execute("SELECT @@log_bin") == ((0,),)
        source.execute("CREATE DATABASE only_on_source")
        assert target.execute("SHOW DATABASES LIKE 'only_on_source'") == ()
        with source.connect(over_tcp=True) as connection:  # the TCP port answers too
            assert "MariaDB" in connection.get_server_info()
        pids = [source.process.pid, target.process.pid]
        base_dir = servers.base_dir
    assert not any(_alive(pid) for pid in pids)
    assert not os.path.exists(base_dir)


def test_servers_are_stopped_when_the_test_fails():
    pids = []
    with pytest.raises(AssertionError, match="the test failed"):
        with running_servers() as servers:
            pids.append(servers.start("failing").process.pid)
            raise AssertionError("the test failed")
    assert pids and not _alive(pids[0])


def test_a_restart_applies_new_options():
    with running_servers() as servers:
        server = servers.start("restarted")
        assert server.execute("SELECT @@log_bin") == ((0,),)
        server.restart(["--log-bin"])
        assert server.execute("SELECT @@log_bin") == ((1,),)
