"""The README documents what users need: the two commands, every setting, the CLI contract."""

from __future__ import annotations

from core.settings import Settings
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_shows_the_two_commands_and_ci_calls_make_test() -> None:
    assert "make run" in README and "make test" in README
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [f"PHT_{n.upper()}" for n in Settings.model_fields if f"`PHT_{n.upper()}`" not in README]
    assert not missing, f"settings missing from README: {missing}"


def test_json_contract_keys_are_documented() -> None:
    for key in ("question", "status", "answer", "citations", "contexts", "notices", "backend",
                "timings_ms", "marker", "quote", "start", "end", "edition"):
        assert f"`{key}`" in README or f"{key}," in README or f"{key}}}" in README, key
