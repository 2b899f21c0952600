"""Load versioned prompt files (``prompts/*.yaml``) and render them strictly.

A prompt file is YAML with ``name`` (= the file stem), ``version``, ``description``,
``variables`` (the exact list of placeholders), an optional ``system`` template and a
``template`` (the user message). Templates use ``str.format`` fields (``{question}``;
a literal brace is doubled: ``{{``). Checks happen at LOAD time: unknown keys, a
template using a variable it does not declare, a declared variable no template uses,
or (when the caller says which variables it will pass) a mismatch with the code, all
raise ``ConfigError``. ``render`` raises on a missing or an extra variable. Files are
package data read with ``importlib.resources``; a ``directory`` overrides them file by
file. This module does not cache, choose which prompt a feature uses, or call a model.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError

_KEYS_REQUIRED = frozenset({"name", "version", "template"})
_KEYS_ALLOWED = _KEYS_REQUIRED | {"description", "variables", "system"}


def template_fields(template: str) -> set[str]:
    """The placeholder names a ``str.format`` template uses (doubled braces are literal).

    >>> sorted(template_fields("Q: {question} {{not a field}} C: {context}"))
    ['context', 'question']
    """
    fields: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:  # unbalanced braces
        raise ValueError(f"bad template syntax ({exc})") from exc
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier():
            raise ValueError(f"placeholder {{{field}}} must be a plain name")
        if spec or conversion:
            raise ValueError(f"placeholder {{{field}}} may not use a format spec or conversion")
        fields.add(field)
    return fields


@dataclass(frozen=True)
class Prompt:
    """One versioned chat prompt: an optional system message and a user message."""

    name: str
    version: str
    template: str
    variables: tuple[str, ...] = ()
    system: str = ""
    description: str = ""

    @property
    def ref(self) -> dict[str, str]:
        """What an ``Answer`` records: ``{"name": ..., "version": ...}``."""
        return {"name": self.name, "version": self.version}

    def _check(self, values: Mapping[str, object]) -> None:
        missing = sorted(set(self.variables) - set(values))
        extra = sorted(set(values) - set(self.variables))
        if missing or extra:
            raise ConfigError(
                f"Prompt {self.name!r} v{self.version} rendered with missing {missing} / "
                f"unexpected {extra} variables (it declares {list(self.variables)})."
            )

    def render(self, **values: object) -> str:
        """The user message.

        >>> Prompt("p", "1", "Hi {who}!", ("who",)).render(who="you")
        'Hi you!'
        """
        self._check(values)
        return self.template.format(**{k: values[k] for k in template_fields(self.template)})

    def render_system(self, **values: object) -> str:
        """The system message ("" when the prompt has none)."""
        self._check(values)
        return self.system.format(**{k: values[k] for k in template_fields(self.system)})

    def messages(self, **values: object) -> list[tuple[str, str]]:
        """``[("system", ...), ("user", ...)]`` (the system message only when non-empty)."""
        system = self.render_system(**values)
        user = self.render(**values)
        return ([("system", system)] if system.strip() else []) + [("user", user)]


def parse_prompt(data: Any, origin: str, expected_name: str) -> Prompt:
    """Validate parsed YAML into a ``Prompt``; every problem names ``origin``."""

    def fail(why: str) -> ConfigError:
        return ConfigError(f"Prompt file {origin} is invalid: {why}.")

    if not isinstance(data, dict):
        raise fail("expected a mapping at the top level")
    unknown = sorted(set(data) - _KEYS_ALLOWED)
    missing = sorted(_KEYS_REQUIRED - set(data))
    if unknown or missing:
        raise fail(f"unknown keys {unknown}, missing keys {missing}")
    if data["name"] != expected_name:
        raise fail(f"name {data['name']!r} does not match the file name {expected_name!r}")
    version = str(data["version"]).strip()
    template = data["template"]
    system = data.get("system") or ""
    if not version or not isinstance(template, str) or not isinstance(system, str):
        raise fail("version must be non-empty, template and system must be strings")
    declared = data.get("variables") or []
    if not isinstance(declared, list) or not all(isinstance(v, str) for v in declared):
        raise fail("variables must be a list of names")
    try:
        used = template_fields(template) | template_fields(system)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if used != set(declared) or len(declared) != len(set(declared)):
        raise fail(
            f"declared variables {sorted(declared)} differ from the ones used {sorted(used)}"
        )
    return Prompt(
        name=expected_name,
        version=version,
        template=template,
        variables=tuple(declared),
        system=system,
        description=str(data.get("description") or ""),
    )


def load_prompt(
    name: str, directory: Path | None = None, *, variables: Iterable[str] | None = None
) -> Prompt:
    """Load ``<name>.yaml`` from ``directory`` if it has one, else from the package.

    ``variables``: the names the caller will pass to ``render``; a file declaring other
    ones fails here, at load time, instead of in the middle of an answer.
    """
    if not name.isidentifier():
        raise ConfigError(f"Prompt name {name!r} is not a plain name.")
    filename = f"{name}.yaml"
    override = Path(directory) / filename if directory is not None else None
    if override is not None and override.is_file():
        origin, text = str(override), override.read_text(encoding="utf-8")
    else:
        res = resources.files("prompts").joinpath(filename)
        if not res.is_file():
            where = f" (nor in {directory})" if directory is not None else ""
            raise ConfigError(f"No prompt named {name!r} in the prompts package{where}.")
        origin, text = f"prompts/{filename}", res.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"Prompt file {origin} is not valid YAML ({exc}).") from exc
    prompt = parse_prompt(data, origin, name)
    if variables is not None and set(variables) != set(prompt.variables):
        raise ConfigError(
            f"Prompt file {origin} declares variables {sorted(prompt.variables)}, "
            f"but the code passes {sorted(variables)}.",
            "Make the prompt file use exactly the variables the code passes.",
        )
    return prompt
