"""Prompt files: shipped prompts load, strictness at load and render time, overrides."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import prompts.loader
from core.errors import ConfigError
from prompts import Prompt, load_prompt, template_fields


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return directory


def test_doctests() -> None:
    assert doctest.testmod(prompts.loader).failed == 0


@pytest.mark.parametrize(
    ("name", "variables"),
    [("answer", ["context", "notices", "question"]), ("condense", ["history", "question"])],
)
def test_shipped_prompts_load_with_the_variables_the_code_passes(
    name: str, variables: list[str]
) -> None:
    prompt = load_prompt(name, variables=variables)
    assert prompt.ref == {"name": name, "version": prompt.version}
    assert prompt.version
    roles = [role for role, _ in prompt.messages(**{v: "X" for v in variables})]
    assert roles == ["system", "user"]


def test_answer_prompt_carries_the_grounding_rules() -> None:
    system = load_prompt("answer").system.lower()
    for rule in ("only", "[1]", "do not cover", "never diagnose", "edition", "paid promotion"):
        assert rule in system


def test_render_puts_values_in_and_keeps_doubled_braces() -> None:
    prompt = Prompt("p", "3", "Q={question} {{literal}}", ("question",))
    assert prompt.render(question="why?") == "Q=why? {literal}"


def test_render_rejects_missing_and_extra_variables() -> None:
    prompt = Prompt("p", "1", "{a} {b}", ("a", "b"))
    with pytest.raises(ConfigError, match="missing \\['b'\\]"):
        prompt.render(a="1")
    with pytest.raises(ConfigError, match="unexpected \\['c'\\]"):
        prompt.render(a="1", b="2", c="3")


def test_template_fields_reject_attribute_access_and_format_specs() -> None:
    assert template_fields("{a}{{b}}") == {"a"}
    for bad in ("{a.b}", "{a:>10}", "{a!r}", "{0}", "{a"):
        with pytest.raises(ValueError):
            template_fields(bad)


def test_override_directory_wins_file_by_file(tmp_path: Path) -> None:
    d = _write(
        tmp_path,
        "condense",
        "name: condense\nversion: '9-local'\nvariables: [history, question]\n"
        "template: 'H: {history} Q: {question}'\n",
    )
    assert load_prompt("condense", d).version == "9-local"
    assert load_prompt("answer", d).version == load_prompt("answer").version  # not overridden


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("name: x\nversion: 1\ntemplate: 'hi {who}'\nvariables: []\n", "declared variables"),
        ("name: x\nversion: 1\ntemplate: 'hi'\nvariables: [who]\n", "declared variables"),
        (
            "name: x\nversion: 1\nsystem: 'as {role}'\ntemplate: 'hi'\nvariables: []\n",
            "declared variables",
        ),
        ("name: y\nversion: 1\ntemplate: 'hi'\n", "does not match the file name"),
        ("name: x\ntemplate: 'hi'\n", "missing keys \\['version'\\]"),
        ("name: x\nversion: 1\ntemplate: 'hi'\ntempalte: typo\n", "unknown keys"),
        ("name: x\nversion: ''\ntemplate: 'hi'\n", "version must be non-empty"),
        ("- a list\n", "mapping"),
        ("name: x\nversion: 1\ntemplate: 'hi {a b}'\nvariables: []\n", "plain name"),
        ("name: [x\n", "not valid YAML"),
    ],
)
def test_bad_prompt_files_fail_at_load_time(tmp_path: Path, text: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        load_prompt("x", _write(tmp_path, "x", text))


def test_load_rejects_a_file_declaring_other_variables_than_the_code_passes(
    tmp_path: Path,
) -> None:
    d = _write(
        tmp_path,
        "answer",
        "name: answer\nversion: 2\nvariables: [context, question]\n"
        "template: '{context} {question}'\n",
    )
    with pytest.raises(ConfigError, match="the code passes"):
        load_prompt("answer", d, variables=["context", "notices", "question"])


def test_unknown_prompt_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No prompt named 'nope'"):
        load_prompt("nope", tmp_path)
    with pytest.raises(ConfigError, match="plain name"):
        load_prompt("../answer")
