"""Migration files and the choice of what to apply (the SQL itself runs in tests/integration/db_writer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from db_writer.migrate import Migration, MigrationError, load_migrations, pending


def names(migrations: list[Migration]) -> list[str]:
    return [f"{m.version:04d}_{m.name}.{m.flavour or 'common'}" for m in migrations]


def test_the_shipped_migrations_have_a_plain_and_a_timescale_path():
    shipped = load_migrations()
    common = ["0003_written_seqs.common", "0004_order_updates.common"]
    assert names(pending(shipped, {}, "plain")) == [
        "0001_history.common", "0002_candles.plain", *common, "0005_trade_keys_collation.plain",
        "0006_user_fills.common"]
    assert names(pending(shipped, {}, "timescale")) == [  # no 0005: trades' columns feed its aggregates
        "0001_history.common", "0002_candles.timescale", *common, "0006_user_fills.common"]


def test_the_timescale_path_makes_hypertable_and_continuous_aggregates_of_the_same_names():
    timescale = next(m for m in load_migrations() if m.flavour == "timescale").sql
    plain = next(m for m in load_migrations() if m.flavour == "plain").sql
    assert "create_hypertable('trades', 'ts'" in timescale
    for interval in ("1s", "1m", "1h", "1d"):
        assert f"CREATE MATERIALIZED VIEW candles_{interval}\n" in timescale
        assert f"add_continuous_aggregate_policy('candles_{interval}'" in timescale
        assert f"CREATE TABLE candles_{interval} " in plain
    assert timescale.count("timescaledb.materialized_only = false") == 4
    assert timescale.count("first(price, trade_id)") == 4 and timescale.count("last(price, trade_id)") == 4
    assert timescale.count("\nWITH NO DATA;") == 4  # WITH DATA cannot run inside the migration transaction


def test_nothing_is_pending_once_everything_is_applied():
    shipped = load_migrations()
    applied = {m.version: m.checksum for m in pending(shipped, {}, "plain")}
    assert pending(shipped, applied, "plain") == []


def test_a_migration_edited_after_it_was_applied_is_refused():
    shipped = load_migrations()
    applied = {m.version: m.checksum for m in pending(shipped, {}, "plain")}
    applied[1] = "0" * 64
    with pytest.raises(MigrationError, match="0001_history was changed"):
        pending(shipped, applied, "plain")


def test_a_database_migrated_by_a_newer_writer_is_refused():
    with pytest.raises(MigrationError, match="does not know"):
        pending(load_migrations(), {99: "x"}, "plain")


def write(directory: Path, **files: str) -> Path:
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


@pytest.mark.parametrize("files, message", [
    ({"1_a.sql": "SELECT 1"}, "expected NNNN_name"),
    ({"0001_a.oracle.sql": "SELECT 1"}, "unknown flavour"),
    ({"0001_a.sql": "SELECT 1", "0001_b.plain.sql": "SELECT 1"}, "one common file"),
    ({"0001_a.plain.sql": "SELECT 1", "0001_b.plain.sql": "SELECT 1"}, "one common file"),
])
def test_misnamed_or_clashing_files_are_refused(tmp_path, files, message):
    with pytest.raises(MigrationError, match=message):
        load_migrations(write(tmp_path, **files))


def test_a_version_without_a_file_for_a_flavour_is_skipped_on_that_path(tmp_path):
    found = load_migrations(write(tmp_path, **{"0001_a.sql": "SELECT 1", "0002_b.timescale.sql": "SELECT 2",
                                               "README.md": "not a migration"}))
    assert names(pending(found, {}, "plain")) == ["0001_a.common"]
    assert names(pending(found, {}, "timescale")) == ["0001_a.common", "0002_b.timescale"]
