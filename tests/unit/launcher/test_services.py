import signal
from pathlib import Path

from launcher.config import parse
from launcher.services import (
    STAGE_CLIENTS,
    STAGE_ENGINE,
    STAGE_SERVICES,
    STAGE_STORES,
    Ready,
    ServiceSpec,
    banner,
    child_env,
    exchange_services,
    stages,
)


def test_child_env_passes_everything_through_and_pins_urls_and_ports():
    config = parse([], {"API_PORT": "9000"})
    env = child_env({"MUDRA_NAMESPACE": "demo", "REDIS_URL": "old", "PATH": "/bin"}, config,
                    "redis://r/0", "postgresql://p/db")
    assert env["MUDRA_NAMESPACE"] == "demo" and env["PATH"] == "/bin"
    assert env["REDIS_URL"] == "redis://r/0" and env["DATABASE_URL"] == "postgresql://p/db"
    assert (env["API_PORT"], env["WS_PORT"], env["API_HOST"]) == ("9000", "8001", "127.0.0.1")
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["MM_STATE_FILE"] == str(Path(".mudra-data").resolve() / "market_maker.json")


def test_child_env_keeps_a_chosen_market_maker_state_file():
    env = child_env({"MM_STATE_FILE": "/keys.json"}, parse([], {}), "redis://r/0", "postgresql://p/db")
    assert env["MM_STATE_FILE"] == "/keys.json"


def test_every_service_in_its_stage_with_its_readiness_check():
    specs, notes = exchange_services(parse(["--taker-rate", "3"], {"WS_PORT": "9001"}), "/py", {"A": "1"},
                                     market_maker_available=True)
    by_name = {spec.name: spec for spec in specs}
    assert list(by_name) == ["engine", "api", "ws", "db_writer", "market_maker"] and notes == []
    assert by_name["engine"].argv == ("/py", "-m", "engine") and by_name["engine"].stage == STAGE_ENGINE
    assert by_name["api"].ready is Ready.HTTP_HEALTH and by_name["api"].port == 8000
    assert by_name["ws"].ready is Ready.TCP and by_name["ws"].port == 9001
    assert {by_name[n].stage for n in ("api", "ws", "db_writer")} == {STAGE_SERVICES}
    assert by_name["market_maker"].argv == ("/py", "-m", "market_maker", "--taker-rate", "3")
    assert by_name["market_maker"].stage == STAGE_CLIENTS
    assert all(spec.env == {"A": "1"} and spec.stop_signal == signal.SIGTERM for spec in specs)


def test_market_maker_left_out_with_a_note():
    config = parse([], {})
    specs, notes = exchange_services(config, "/py", {}, market_maker_available=False)
    assert "market_maker" not in {s.name for s in specs} and "no __main__" in notes[0]
    specs, notes = exchange_services(parse(["--no-market-maker"], {}), "/py", {}, True)
    assert "market_maker" not in {s.name for s in specs} and "--no-market-maker" in notes[0]


def test_stages_in_start_order():
    order = [("mm", STAGE_CLIENTS), ("api", STAGE_SERVICES), ("redis", STAGE_STORES), ("ws", STAGE_SERVICES)]
    specs = [ServiceSpec(name, (name,), stage) for name, stage in order]
    assert [[s.name for s in group] for group in stages(specs)] == [["redis"], ["api", "ws"], ["mm"]]


def test_banner_names_the_urls():
    lines = banner(parse([], {"API_PORT": "9000", "WS_PORT": "9001"}), "127.0.0.1", "redis://r (local)",
                   "postgresql://p (local)", frontend_built=True)
    text = "\n".join(lines)
    assert lines[1].split()[1] == "http://127.0.0.1:9000/"
    assert "http://127.0.0.1:9000/api/v1" in text and "http://127.0.0.1:9000/docs" in text
    assert "ws://127.0.0.1:9001/" in text and "Ctrl-C" in text and "make frontend" not in text
    unbuilt = banner(parse([], {}), "127.0.0.1", "r", "p", frontend_built=False)
    assert "make frontend" in unbuilt[1]
