"""The sample district passes its own consistency checks and scales to 1,900+ items."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cloudwindow.catalog.schemas import ServiceItemCreate
from cloudwindow.sample.load import catalog_items

CHECK = Path(__file__).resolve().parents[3] / "src" / "cloudwindow" / "sample" / "check_sample.py"


def test_sample_file_is_consistent() -> None:
    result = subprocess.run(
        [sys.executable, str(CHECK)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK")


def test_hand_written_catalogue_has_150_plus_valid_items() -> None:
    items = catalog_items(full=False)
    assert len(items) >= 150
    for raw in items:
        ServiceItemCreate.model_validate(raw)
    names = {i["name"] for i in items}
    for needed in ("社会保障卡补领", "最低生活保障对象认定", "残疾人证新办", "生育登记"):
        assert any(needed in n for n in names), needed


def test_generator_scales_to_1900_plus_unique_items() -> None:
    items = catalog_items(full=True)
    assert len(items) >= 1900
    assert len({i["code"] for i in items}) == len(items)
    for raw in items[-50:]:
        ServiceItemCreate.model_validate(raw)
