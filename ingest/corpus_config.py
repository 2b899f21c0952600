"""Schemas of the corpus folder's YAML files, checked before ingestion touches the index.

``metadata.yaml`` (per-article title, author, edition, edition_rank, url),
``editorial_notes.yaml`` (known edition conflicts: topics, note, superseded_by and
supersedes anchors) and ``faq.yaml`` (curated questions) are written by hand by clinic
staff. ``validate_corpus_config`` reads the three files (an absent file is fine), checks
them against pydantic models that forbid unknown fields (a misspelt key is an error, not a
silent default) and rejects duplicate keys and ids; ``check_note_anchors`` then checks, on
the loaded articles, that every anchor of a note occurs verbatim in the article it names. The first problem becomes a ``CorpusError`` naming
the file, the line and the field, e.g. ``corpus/editorial_notes.yaml, line 9, field
notes[0].topics: missing``. The models are the one schema of these files: the assistant's
readers (notes, FAQ) can validate with them too. It does not read the articles' text except
to find anchors, and it does not decide what a note means.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt
from pydantic import ValidationError as PydanticValidationError

from core.errors import CorpusError

METADATA_FILE = "metadata.yaml"
NOTES_FILE = "editorial_notes.yaml"
FAQ_FILE = "faq.yaml"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _has_a_word(value: str) -> str:
    # A topic with no letter or digit would match every question (an empty word pattern).
    if not any(ch.isalnum() for ch in value):
        raise ValueError(f"topic {value!r} has no letter or digit")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
Topic = Annotated[str, AfterValidator(_has_a_word)]


class _Schema(BaseModel):
    # Unknown keys are errors (a typo must not pass as a missing optional field); YAML
    # numbers are accepted where text is expected (``edition: 2020``).
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)


class ArticleMeta(_Schema):
    """One article's entry in ``metadata.yaml``; every field is optional."""

    title: str | None = None
    author: str | None = None
    edition: str | None = None
    edition_rank: StrictInt = Field(0, description="Higher = newer edition.")
    url: str | None = None


class MetadataFile(_Schema):
    articles: dict[str, ArticleMeta | None] = Field(default_factory=dict)


class Anchor(_Schema):
    source: Text = Field(description="Corpus file, e.g. corpus/understanding-pht-with-running.txt.")
    anchor: Text = Field(description="Verbatim text inside that file.")


class Note(_Schema):
    """One known disagreement between editions, as ``editorial_notes.yaml`` lists it."""

    id: Text | None = None
    topics: list[Topic] = Field(min_length=1)
    note: Text
    superseded_by: Anchor
    supersedes: Anchor | None = None


class NotesFile(_Schema):
    notes: list[Note] | None = None


class FaqEntry(_Schema):
    id: Text | None = None
    question: Text
    example: StrictBool = False


class FaqFile(_Schema):
    questions: list[FaqEntry]


@dataclass
class CorpusConfig:
    """The validated YAML files of a corpus folder (empty defaults for absent files)."""

    metadata: MetadataFile = field(default_factory=MetadataFile)
    notes: NotesFile = field(default_factory=NotesFile)
    faq: FaqFile | None = None
    notes_path: Path | None = None
    notes_node: yaml.Node | None = field(default=None, repr=False)  # for line numbers


_SCHEMAS = (ArticleMeta, MetadataFile, Anchor, Note, NotesFile, FaqEntry, FaqFile)

FIXES = {
    METADATA_FILE: "Each entry under 'articles' is a file name with title, author, edition, "
    "edition_rank (a whole number) and url.",
    NOTES_FILE: "Each note needs topics (a list), note and superseded_by {source, anchor}; "
    "id and supersedes are optional.",
    FAQ_FILE: "Give the file a 'questions' list of {id, question, example: true|false} entries.",
}


def _fail(path: Path, line: int | None, where: str, problem: str, fix: str = "") -> CorpusError:
    at = f", line {line}" if line else ""
    at += f", field {where}" if where else ""
    return CorpusError(f"{path}{at}: {problem}.",
                       (fix or FIXES[path.name]) + " The index was left as it was.")


def _field_path(loc: tuple[int | str, ...]) -> str:
    """``("notes", 0, "topics")`` -> ``notes[0].topics``; keys with dots are quoted."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in part or " " in part:
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else part
    return out


def _node_line(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest YAML node that ``loc`` reaches (the key for a mapping)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if hit is None:
                return line
            line, node = hit[0].start_mark.line + 1, hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _duplicate_key(node: yaml.Node | None) -> tuple[str, int] | None:
    """The first key that a mapping repeats (YAML would silently keep the last one)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if str(key.value) in seen:
                return str(key.value), key.start_mark.line + 1
            seen.add(str(key.value))
            if (dup := _duplicate_key(value)) is not None:
                return dup
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            if (dup := _duplicate_key(item)) is not None:
                return dup
    return None


def _problem(err: Any) -> str:
    kind, msg = err["type"], str(err["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        return "missing (this field is required)"
    if kind == "extra_forbidden":
        names = {n for m in _SCHEMAS for n in m.model_fields}
        close = difflib.get_close_matches(str(err["loc"][-1]), sorted(names), n=2)
        hint = " or ".join(f"'{c}'" for c in close)
        return "unknown field" + (f" (did you mean {hint}?)" if hint else "")
    if kind in ("model_type", "dict_type"):
        msg = "must be a mapping of keys to values"
    shown = repr(err.get("input"))
    return f"{msg} (got {shown if len(shown) <= 60 else shown[:57] + '...'})"


# libyaml's safe loader when PyYAML has it (a clinic's metadata file of a thousand articles
# parses in a fraction of the pure-Python time), the same documents and errors otherwise
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str, loader: Any) -> tuple[Any, yaml.Node | None]:
    """Data and node tree of one YAML document, parsed once: the data is built from the nodes."""
    node = yaml.compose(text, Loader=loader)
    return (None if node is None else loader("").construct_document(node)), node


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """Decoded data and node tree of ``path``; a CorpusError names the file and line if bad."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(path, None, "", f"cannot be read ({(exc.strerror or str(exc)).lower()})",
                    "Make it a file readable by the user running `pht ingest`, or remove it."
                    ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(path, line, "", f"is not UTF-8 (byte 0x{raw[exc.start]:02X})") from exc
    try:
        try:
            data, node = _parse(text, _LOADER)
        except yaml.YAMLError:  # the pure-Python parser words the error the same everywhere
            data, node = _parse(text, yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc)
        raise _fail(path, mark.line + 1 if mark else None, "",
                    f"is not valid YAML ({what})") from exc
    if (dup := _duplicate_key(node)) is not None:
        raise _fail(path, dup[1], dup[0], "this key appears twice (the first one would be lost)")
    return data, node


M = TypeVar("M", bound=_Schema)


def _validate(path: Path, model: type[M]) -> tuple[M, yaml.Node | None] | None:
    """The file checked against ``model`` with its YAML node tree, or ``None`` if absent."""
    if not path.exists() and not path.is_symlink():
        return None
    data, node = _read_yaml(path)
    try:
        return model.model_validate({} if data is None else data), node
    except PydanticValidationError as exc:
        # A misspelt key is usually also a missing one: report the misspelling first.
        err = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        loc = tuple(err["loc"])
        more = f" ({exc.error_count() - 1} more problem(s) after this one)" if exc.error_count() > 1 else ""
        raise _fail(path, _node_line(node, loc), _field_path(loc), _problem(err) + more) from exc


def _check_unique_ids(path: Path, node: yaml.Node | None, key: str, ids: list[str | None],
                      default: str) -> None:
    seen: set[str] = set()
    for i, item_id in enumerate(ids):
        name = item_id or f"{default}-{i + 1}"
        if name in seen:
            raise _fail(path, _node_line(node, (key, i, "id")), f"{key}[{i}].id",
                        f"the id {name!r} is used twice; every id must be unique")
        seen.add(name)


def check_note_anchors(config: CorpusConfig, texts: Mapping[str, str]) -> list[str]:
    """Every anchor of a note must occur verbatim in the article it names (else the note
    cannot cite the passage and answers silently lose that citation): a ``CorpusError``
    otherwise. ``texts`` maps each loaded article's source name (``corpus/a.txt``) to its
    text. A source that was not loaded (removed, or skipped as unreadable) is a warning.
    """
    path, node = config.notes_path, config.notes_node
    warnings: list[str] = []
    for i, note in enumerate(config.notes.notes or []):
        for role in ("superseded_by", "supersedes"):
            anchor: Anchor | None = getattr(note, role)
            if anchor is None or path is None:
                continue
            text = texts.get(anchor.source)
            if text is None:
                line = _node_line(node, ("notes", i, role, "source"))
                warnings.append(
                    f"{path.name}, line {line}, field notes[{i}].{role}.source: {anchor.source} "
                    "is not an article that was read; the note cannot cite it."
                )
            elif anchor.anchor not in text:
                raise _fail(path, _node_line(node, ("notes", i, role, "anchor")),
                            f"notes[{i}].{role}.anchor",
                            f"this text does not occur verbatim in {anchor.source} "
                            f"(got {anchor.anchor[:60]!r})")
    return warnings


def load_metadata(corpus_dir: Path) -> MetadataFile:
    """The validated ``metadata.yaml`` of ``corpus_dir`` (empty when the file is absent)."""
    found = _validate(corpus_dir / METADATA_FILE, MetadataFile)
    return found[0] if found else MetadataFile()


def validate_corpus_config(corpus_dir: Path) -> CorpusConfig:
    """Check the corpus folder's YAML files; raise a ``CorpusError`` naming file, line, field.

    Absent files are fine (no metadata, no notes, no FAQ); a folder that does not exist is
    left to the loader to report. Anchors are checked later, on the loaded articles.
    """
    out = CorpusConfig(metadata=load_metadata(corpus_dir))
    notes_path = corpus_dir / NOTES_FILE
    if (notes := _validate(notes_path, NotesFile)) is not None:
        out.notes, out.notes_node = notes
        out.notes_path = notes_path
        ids = [n.id for n in out.notes.notes or []]
        _check_unique_ids(notes_path, out.notes_node, "notes", ids, "note")
    faq_path = corpus_dir / FAQ_FILE
    if (faq := _validate(faq_path, FaqFile)) is not None:
        out.faq, node = faq
        _check_unique_ids(faq_path, node, "questions", [q.id for q in out.faq.questions], "faq")
    return out
