"""docs/cli.md is generated from the commands (cli/docgen.py) and never drifts from them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from colonies.cli import docgen
from colonies.cli.docnotes import NOTES
from colonies.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cli.md"


def test_docs_cli_md_is_what_the_commands_generate() -> None:
    assert DOC.read_text() == docgen.generate(), f"docs/cli.md is out of date: run `{docgen.REGENERATE}`"


def test_the_module_prints_the_page() -> None:
    printed = subprocess.run([sys.executable, "-m", "colonies.cli.docgen"], capture_output=True, text=True, check=True, timeout=60, cwd=ROOT)
    assert printed.stdout == docgen.generate()


def test_every_command_and_option_is_on_the_page() -> None:
    page = docgen.generate()
    for path, command in docgen.walk(typer.main.get_command(app)):
        assert f"`{' '.join(('colonies', *path))}`" in page
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert f"`{param.opts[0]}`" in page, (path, param.opts)


def test_notes_belong_to_commands_that_exist() -> None:
    paths = {" ".join(path) for path, _ in docgen.walk(typer.main.get_command(app))}
    assert set(NOTES) <= paths
