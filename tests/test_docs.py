"""Docs that run: every fenced code block of README.md and the plugin READMEs.

- ``python`` blocks run as scripts in a fresh interpreter, in an empty folder, as written.
- The plugin example (its ``pyproject.toml`` and module) is built with pip, installed into a
  target folder and run by name, as a third party's plugin is.
- A game class to save as a module (minimax's ``Nim``) is saved, and the command beside it run.
- ``console`` blocks (and bare blocks of commands): each ``evoengine`` command is checked
  through ``evoengine show`` with the same problem and settings (the problem is built, every
  setting and operator validated); commands of quick problems then really run, with
  ``--set generations=2`` added so the suite stays short. Commands that cannot run here are
  checked as far as they can be: ``backend=ray`` with ``ray_address=auto`` needs a cluster
  (settings validated only), ``evoengine play`` reads moves from a person (``--help`` only),
  minimax and gan runs take minutes (settings validated only). ``make`` and ``pip install``
  lines are the installation the test command itself runs.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from evoengine.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "plugins").glob("*/README.md"))]
# Problems quick enough to run for two generations from a docs command.
QUICK = {"equation", "sphere", "rastrigin", "rosenbrock", "ackley", "griewank", "schwefel",
         "tsp", "onemax"}
INSTALL_LINES = re.compile(r"^(make (run|test|install|docs|benchmark)|pip install )")
_FENCE = re.compile(r"^(\s*)```(\w*)\s*$")


@dataclass
class Block:
    path: Path
    line: int
    info: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    """The code blocks of a Markdown file: fenced ones (list items' indented fences included)
    and indented ones (four spaces after a blank line)."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            if lines[i].startswith("    ") and (i == 0 or not lines[i - 1].strip()):
                start, body = i, []
                while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                    body.append(lines[i][4:])
                    i += 1
                blocks.append(Block(path, start + 1, "", "\n".join(body).strip() + "\n"))
                continue
            i += 1
            continue
        indent, info, start = opening.group(1), opening.group(2), i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        blocks.append(Block(path, start + 1, info, "\n".join(body) + "\n"))
        i += 1
    return blocks


ALL_BLOCKS = [block for path in DOCS for block in code_blocks(path)]


def commands(text: str) -> list[str]:
    """The command lines of a console block, continuation lines joined, comments dropped."""
    joined = text.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(shlex.split(line, comments=True))
    return [" ".join(shlex.quote(a) for a in args) for args in out if args]


def is_command_block(block: Block) -> bool:
    if block.info not in ("", "console", "bash", "sh"):
        return False
    try:
        lines = commands(block.text)
    except ValueError:  # shell syntax it cannot split (an apostrophe in prose): not commands
        return False
    return bool(lines) and all(line.startswith(("evoengine ", "make ", "pip ")) for line in lines)


def kind_of(block: Block) -> str:
    if block.info == "toml" or block.text.startswith("# evoengine_onemax/"):
        return "plugin"
    if block.info == "python" and re.search(r"^class \w+:", block.text, re.M) and \
            "import" not in block.text:
        return "module"
    if block.info == "python":
        return "python"
    if is_command_block(block):
        return "commands"
    return "text"


def test_every_code_block_is_covered():
    """A new kind of block must get a runner here, not be skipped silently."""
    kinds = {block.id: kind_of(block) for block in ALL_BLOCKS}
    text = [block_id for block_id, kind in kinds.items() if kind == "text"]
    # Only the README's layout tree is prose in a code block.
    assert text == [b.id for b in ALL_BLOCKS if b.text.lstrip().startswith("evoengine/ ")]
    assert sum(kind == "plugin" for kind in kinds.values()) == 2


# --- python blocks ---------------------------------------------------------------------------

@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if kind_of(b) == "python"],
                         ids=lambda b: b.id)
def test_python_block_runs(block, tmp_path, cli_env):
    script = tmp_path / "snippet.py"
    script.write_text(block.text)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=cli_env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{block.id}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), "a README example should show its result"


# --- the plugin example ----------------------------------------------------------------------

def test_readme_plugin_builds_installs_and_runs(tmp_path, cli_env):
    src = tmp_path / "src"
    for block in (b for b in ALL_BLOCKS if kind_of(b) == "plugin"):
        first, _, body = block.text.partition("\n")
        target = src / first.removeprefix("#").strip()  # "# pyproject.toml" names the file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    assert (src / "pyproject.toml").exists() and (src / "evoengine_onemax/__init__.py").exists()
    site = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps",
                            "--no-build-isolation", "--no-index", "--target", str(site),
                            str(src)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert "Warning" not in build.stderr and "deprecated" not in build.stderr
    env = {**cli_env, "PYTHONPATH": f"{site}:{cli_env.get('PYTHONPATH', '')}"}
    run = subprocess.run([sys.executable, "-m", "evoengine.cli", "run", "onemax", "--set",
                          "length=20", "--set", "generations=30", "--seed", "1", "-q", "--out",
                          str(tmp_path / "runs")], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "best: ones = 20 (maximize)" in run.stdout
    shown = subprocess.run([sys.executable, "-m", "evoengine.cli", "show", "onemax", "--json"],
                           env=env, capture_output=True, text=True)
    settings = {r["name"]: r for r in json.loads(shown.stdout)["problem_settings"]}
    assert settings["length"]["default"] == 100 and settings["length"]["range"] == ">= 1"


# --- a module to save (minimax's own game) ---------------------------------------------------

def test_module_blocks_save_and_run(tmp_path, monkeypatch):
    (block,) = [b for b in ALL_BLOCKS if kind_of(b) == "module"]
    name = re.search(r"^class (\w+):", block.text, re.M).group(1)
    (tmp_path / f"{name.lower()}.py").write_text(block.text)
    monkeypatch.syspath_prepend(str(tmp_path))
    text = block.path.read_text()
    command = re.search(rf"`(evoengine run minimax --set game=python:{name.lower()}:{name})`",
                        text).group(1)
    args = shlex.split(command)[1:] + ["--set", "generations=1", "--set", "population_size=4",
                                       "--seed", "1", "-q", "--out", str(tmp_path / "runs")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "best:" in result.output


# --- console blocks --------------------------------------------------------------------------

@pytest.fixture
def docs_folder(tmp_path, monkeypatch):
    """An empty folder holding the files the README's commands name."""
    from evoengine.runs import recorded

    monkeypatch.chdir(tmp_path)
    (tmp_path / "settings.toml").write_text("generations = 3\n")
    tsp = Path(__import__("evoengine_routing").__file__).parent / "data" / "berlin52.tsp"
    (tmp_path / "path" / "to").mkdir(parents=True)
    shutil.copy(tsp, tmp_path / "path" / "to" / "my.tsp")
    # the README's example run folder, interrupted at generation 2 of 4
    from evoengine.checkpoint import Checkpointer, RunInfo
    from evoengine.plugins import load_plugins
    from evoengine.run import optimize, prepare

    loaded = load_plugins()
    prepared = prepare(loaded.registry.get("rastrigin"),
                       {"generations": 4, "population_size": 10, "seed": 1,
                        "checkpoint_every": 1})
    folder = tmp_path / "runs" / "rastrigin-20250101-120000"
    info = RunInfo("rastrigin", "equation", loaded.plugins["equation"].version,
                   prepared.as_dict())

    def ctrl_c(opt):
        if opt.generation == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), recorded(folder, "rastrigin"):
        optimize(prepared.problem, prepared.settings, checkpoint=Checkpointer(folder, info, 1),
                 on_generation=ctrl_c)
    return tmp_path


def _show_args(args: list[str]) -> list[str]:
    """``run PROBLEM ...`` as ``show PROBLEM ...``: the same problem and settings."""
    out, i = ["show"], 1
    while i < len(args):
        if args[i] in ("--seed",):
            out += ["--set", f"seed={args[i + 1]}"]
            i += 2
        elif args[i] in ("--out",):
            i += 2
        elif args[i] in ("-q", "--quiet"):
            i += 1
        else:
            out.append(args[i])
            i += 1
    return out


def _setting(args: list[str], key: str) -> str | None:
    for i, arg in enumerate(args[:-1]):
        if arg in ("--set", "-s") and args[i + 1].startswith(f"{key}="):
            return args[i + 1].split("=", 1)[1]
    return None


def _invoke(args: list[str]):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, f"evoengine {' '.join(args)}\n{result.output}"
    return result


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if kind_of(b) == "commands"],
                         ids=lambda b: b.id)
def test_console_block_commands_run(block, docs_folder):
    for line in commands(block.text):
        if INSTALL_LINES.match(line):
            continue
        args = shlex.split(line)[1:]
        verb = args[0]
        if verb == "run" and "--help" in args:
            assert "problem settings" in _invoke(args).output
        elif verb == "run":
            shown = json.loads(_invoke(_show_args(args) + ["--json"]).output)
            assert shown["unbuilt"] is None, line
            if args[1] in QUICK and _setting(args, "ray_address") is None:
                result = _invoke(args + ["--set", "generations=2", "-q", "--out", "runs"])
                assert "best: " in result.output
        elif verb in ("show", "runs", "plugins", "resume"):
            result = _invoke(args)
            if verb == "resume":
                assert "best: " in result.output
        else:  # commands that read from a person (play) or run for minutes
            _invoke([verb, "--help"])


def test_the_readme_shows_show_runs_run_problem_and_tensorboard():
    """The issue's promise: a reader finds each of these in a few lines of README.md."""
    readme = (ROOT / "README.md").read_text()
    for text in ("evoengine show ", "evoengine runs", "evoengine.run_problem(",
                 "--set observer=tensorboard", "tensorboard --logdir runs"):
        assert text in readme, text


def test_commands_parses_continuations_and_comments():
    text = textwrap.dedent("""\
        evoengine run a --set x="1 2" \\
                        --seed 1   # a comment
        # a whole comment line
        evoengine runs
        """)
    assert commands(text) == ["evoengine run a --set 'x=1 2' --seed 1", "evoengine runs"]


# --- the API reference ------------------------------------------------------------------------

def test_api_reference_builds_without_warnings(tmp_path):
    """``make docs``: MkDocs + mkdocstrings from the public modules' docstrings, --strict."""
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr
    page = (tmp_path / "site" / "api" / "run" / "index.html").read_text()
    assert "run_problem" in page and "with_problem_defaults" in page
