"""The generated reference (docs/reference/*.md) covers every public name, action, option and
``%config`` option, each with its own text, and is current (``python docs/gen_reference.py``)."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import mrsm_jupyter
from mrsm_jupyter.actions.registry import ACTIONS

GENERATOR = Path(__file__).resolve().parents[1] / "docs" / "gen_reference.py"


@pytest.fixture(scope="module")
def gen() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("gen_reference", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_reference"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["gen_reference"]


def page(gen: ModuleType, name: str) -> str:
    path: Path = gen.REFERENCE_DIR / name
    return path.read_text(encoding="utf-8")


def test_nothing_is_undocumented(gen: ModuleType) -> None:
    assert gen.undocumented() == []


def test_the_pages_are_current(gen: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen.main(["--check"]) == 0, capsys.readouterr().err


def test_every_public_name_has_a_section(gen: ModuleType) -> None:
    text = page(gen, "python-api.md")
    headings = set(re.findall(r"^## `(\w+)", text, flags=re.MULTILINE))
    assert headings == set(mrsm_jupyter.__all__)
    assert "#### `Pipe.sync(" in text and "#### `Job.wait(" in text


def test_every_action_and_option_is_on_the_actions_page(gen: ModuleType) -> None:
    text = page(gen, "actions.md")
    assert set(re.findall(r"^### `([a-z]+ [a-z]+)`$", text, flags=re.MULTILINE)) == set(ACTIONS)
    for parser in gen.option_parsers().values():
        for action in parser._actions:
            flag = action.option_strings[0] if action.option_strings else action.dest
            assert f"`{flag}`" in text, flag


def test_every_config_option_is_on_the_config_page(gen: ModuleType) -> None:
    text = page(gen, "config.md")
    names = [name for name, _ in gen.config_options()]
    assert names == ["instance", "progress", "row_limit"]
    assert all(f"`MrsmMagics.{name}`" in text for name in names)


def test_an_undocumented_action_or_option_is_caught(
    gen: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A new action whose function has no docstring, and a new option without help.
    def frobnicate_pipes(request: object, context: object) -> None:
        pass

    monkeypatch.setitem(ACTIONS, "frobnicate pipes", "tests:frobnicate_pipes")
    load = gen.load_action
    monkeypatch.setattr(gen, "load_action", lambda t: frobnicate_pipes if t.startswith("tests:") else load(t))
    parsers = gen.option_parsers()
    parsers["%%job"] = gen.build_parser("mrsm")
    parsers["%%job"].add_argument("--frob")
    monkeypatch.setattr(gen, "option_parsers", lambda: parsers)
    missing = gen.undocumented()
    assert "action 'frobnicate pipes'" in missing and "%%job option --frob" in missing
    assert gen.main(["--check"]) == 1
    assert "Stale: actions.md" in capsys.readouterr().err
