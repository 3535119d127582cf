from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import Exchange, running_exchange


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[Exchange]:
    with running_exchange(tmp_path, "test-e2e") as running:
        yield running
