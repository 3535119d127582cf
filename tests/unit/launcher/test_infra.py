import os
import stat
from pathlib import Path

import pytest

from launcher import infra
from launcher.infra import Missing, Probe, ProbeState, StartPrivate, Use

UP, DOWN = Probe(ProbeState.UP), Probe(ProbeState.DOWN, "refused")
LOCAL = "redis://127.0.0.1:6379/0"


def choose(env_url=None, private=False, probe=UP, binary="/usr/bin/redis-server"):
    def probed() -> Probe:
        if probe is None:
            raise AssertionError("probed although the decision did not need it")
        return probe

    return infra.choose("REDIS_URL", env_url, private, probed, LOCAL, binary, "Redis", infra.REDIS_INSTALL)


def test_a_given_url_wins_without_probing():
    assert choose(env_url="redis://cache:6380/1", probe=None) == Use("redis://cache:6380/1", "REDIS_URL")
    assert choose(env_url="redis://cache:6380/1", private=True, probe=None).origin == "REDIS_URL"


def test_a_running_local_server_is_used():
    assert choose(probe=UP) == Use(LOCAL, "local")


def test_nothing_running_but_installed_starts_a_private_instance():
    assert choose(probe=DOWN) == StartPrivate("/usr/bin/redis-server")


def test_private_flag_skips_the_probe():
    assert choose(private=True, probe=None) == StartPrivate("/usr/bin/redis-server")


def test_nothing_running_nothing_installed_says_what_to_install():
    choice = choose(probe=DOWN, binary=None)
    assert isinstance(choice, Missing)
    assert "apt-get install -y redis-server" in choice.message and "REDIS_URL" in choice.message


def test_postgres_install_hint_names_the_debian_package():
    choice = infra.choose("DATABASE_URL", None, False, lambda: DOWN, infra.local_database_url(), None,
                          "PostgreSQL", infra.POSTGRES_INSTALL)
    assert isinstance(choice, Missing)
    assert "apt-get install -y postgresql" in choice.message and "DATABASE_URL" in choice.message


def test_a_server_we_cannot_use_is_reported_not_replaced():
    choice = choose(probe=Probe(ProbeState.UNUSABLE, "Redis at 127.0.0.1:6379 wants a password"))
    assert isinstance(choice, Missing)
    assert "wants a password" in choice.message and "set REDIS_URL" in choice.message


def test_local_and_private_urls():
    assert infra.local_redis_url() == "redis://127.0.0.1:6379/0"
    assert infra.local_database_url() == "postgresql://postgres@127.0.0.1:5432/mudra"
    assert infra.private_redis_url(7000) == "redis://127.0.0.1:7000/0"
    assert infra.private_database_url(7001) == "postgresql://postgres@127.0.0.1:7001/mudra"


@pytest.mark.parametrize(("reply", "state", "detail"), [
    (b"+PONG\r\n", ProbeState.UP, ""),
    (b"-NOAUTH Authentication required.\r\n", ProbeState.UNUSABLE, "wants a password"),
    (b"-ERR unknown command\r\n", ProbeState.UNUSABLE, "refused PING"),
    (b"HTTP/1.1 400 Bad Request\r\n", ProbeState.UNUSABLE, "does not answer PING like Redis"),
    (b"", ProbeState.UNUSABLE, "does not answer PING like Redis"),
])
def test_redis_reply_classification(reply, state, detail):
    probe = infra.classify_redis_reply(reply, "127.0.0.1:6379")
    assert probe.state is state and detail in probe.detail


def _executable(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_postgres_binaries_on_path(tmp_path):
    for name in ("initdb", "postgres"):
        _executable(tmp_path / "bin" / name)
    assert infra.find_postgres_bin(str(tmp_path / "bin"), extra_globs=()) == str(tmp_path / "bin")


def test_postgres_symlink_on_path_resolves_to_the_real_directory(tmp_path):
    real = tmp_path / "lib" / "postgresql" / "15" / "bin"
    for name in ("initdb", "postgres"):
        _executable(real / name)
    (tmp_path / "bin").mkdir()
    os.symlink(real / "initdb", tmp_path / "bin" / "initdb")
    assert infra.find_postgres_bin(str(tmp_path / "bin"), extra_globs=()) == str(real)


def test_postgres_newest_debian_version_when_not_on_path(tmp_path):
    for version in ("9.6", "13", "15"):
        for name in ("initdb", "postgres"):
            _executable(tmp_path / version / "bin" / name)
    _executable(tmp_path / "16" / "bin" / "initdb")  # no server binary: not usable
    found = infra.find_postgres_bin(str(tmp_path / "empty"), extra_globs=(str(tmp_path / "*" / "bin"),))
    assert found == str(tmp_path / "15" / "bin")


def test_no_postgres_anywhere(tmp_path):
    assert infra.find_postgres_bin(str(tmp_path), extra_globs=(str(tmp_path / "*" / "bin"),)) is None


def test_redis_server_on_path(tmp_path):
    _executable(tmp_path / "redis-server")
    assert infra.find_redis_server(str(tmp_path)) == str(tmp_path / "redis-server")
    assert infra.find_redis_server(str(tmp_path / "nowhere")) is None


def test_private_redis_is_durable_and_local_only(tmp_path):
    argv = infra.redis_argv("redis-server", 7000, tmp_path)
    flags = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert flags["--appendonly"] == "yes" and flags["--appendfsync"] == "everysec"
    assert flags["--bind"] == "127.0.0.1" and flags["--port"] == "7000" and flags["--dir"] == str(tmp_path)
    assert flags["--daemonize"] == "no"


def test_private_postgres_listens_on_tcp_only(tmp_path):
    argv = infra.postgres_argv("/pg/bin", tmp_path, 7001)
    assert argv[:5] == ["/pg/bin/postgres", "-D", str(tmp_path), "-p", "7001"]
    assert "listen_addresses=127.0.0.1" in argv and "unix_socket_directories=" in argv
    assert infra.initdb_argv("/pg/bin", tmp_path)[:3] == ["/pg/bin/initdb", "-D", str(tmp_path)]
    assert "--auth=trust" in infra.initdb_argv("/pg/bin", tmp_path)


def test_postgres_runs_as_postgres_when_we_are_root():
    assert infra.postgres_run_user(1000, lambda name: True) is None
    assert infra.postgres_run_user(0, lambda name: name == "postgres") == "postgres"
    refusal = infra.postgres_run_user(0, lambda name: False)
    assert isinstance(refusal, Missing) and "root" in refusal.message


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://:secret@cache:6379/0", "redis://:***@cache:6379/0"),
    ("postgresql://app:pw@db/mudra", "postgresql://app:***@db/mudra"),
    ("postgresql://postgres@db/mudra", "postgresql://postgres@db/mudra"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
])
def test_redact_hides_passwords(url, shown):
    assert infra.redact(url) == shown
