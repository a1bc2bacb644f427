"""Mutation testing of the pure-Python modules where a wrong line is easiest to miss.

    python benchmarks/mutation.py                 # every module below, one after the other
    python benchmarks/mutation.py elo parser      # some of them
    python benchmarks/mutation.py --survivors checkpoint   # only the last run's survivors

Each module is mutated by mutmut (3.x) on its own, in a scratch copy under build/mutation/NAME,
against only the tests that exercise it (mutmut then runs, for each mutant, just the tests that
reach the mutated function). One worker: the machine is shared. The score printed is
killed / (killed + survived); mutants that time out count as killed, mutants no test reaches
("no tests") as survived. Survivors are listed with ``mutmut show NAME`` in that folder.
With ``--survivors``, only the mutants that survived the module's last run (its
``survivors.txt``) are run again, against the tests as they are now: the score printed is then
over those mutants only. Slow (minutes per module): not part of ``make test`` or CI;
``make mutation`` runs it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "mutation"

# name -> (package folder, module inside it, tests that exercise it: files, or file::test for the
# few tests of a larger file that do). Core modules are mutated in a copy of evoengine/; a
# plugin's module in a copy of its package, evoengine imported as usual.
MODULES = {
    "config": ("evoengine", "evoengine/config.py", ["tests/test_config.py"]),
    "variation": ("evoengine", "evoengine/algorithms/variation.py",
                  ["tests/test_operators_wiring.py", "tests/test_operator_defaults.py"]),
    "registry": ("evoengine", "evoengine/registry.py", ["tests/test_plugins.py"]),
    "plugins": ("evoengine", "evoengine/plugins.py", ["tests/test_plugins.py"]),
    "checkpoint": ("evoengine", "evoengine/checkpoint.py",
                   ["tests/test_checkpoint.py", "tests/test_checkpoint_restore.py",
                    *(f"tests/test_hardening.py::{name}" for name in (
                        "test_resume_from_an_all_failed_generation_continues_as_the_run",
                        "test_edited_generation_is_refused_by_the_checksum_and_the_older_one_used",
                        "test_forged_state_is_one_refusal_line",
                        "test_array_header_claiming_1e10_rows_is_refused_before_allocating",
                        "test_arrays_that_are_not_numbers_are_refused",
                        "test_deeply_nested_checkpoint_json_is_refused",
                        "test_checkpoint_that_is_not_a_regular_file_is_refused_without_hanging",
                        "test_forged_gp_trees_are_refused_before_the_compiled_evaluator_sees_them"))]),
    "elo": ("plugins/minimax/evoengine_minimax", "evoengine_minimax/elo.py",
            ["plugins/minimax/tests/test_minimax_stats.py"]),
    "parser": ("evoengine", "evoengine/gp/parse.py", ["tests/test_expression_parser.py"]),
}


def prepare(name: str) -> Path:
    package, module, tests = MODULES[name]
    work = SCRATCH / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    package_dir = ROOT / package
    shutil.copytree(package_dir, work / package_dir.name,
                    ignore=shutil.ignore_patterns("__pycache__"))
    folder = ROOT / Path(tests[0]).parent  # tests/ or a plugin's plugins/NAME/tests/
    shutil.copytree(folder, work / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    if folder != ROOT / "tests":  # a plugin's tests use the core's helpers too
        for helper in (ROOT / "tests").glob("*.py"):
            if not helper.name.startswith("test_") and not (work / "tests" / helper.name).exists():
                shutil.copy(helper, work / "tests" / helper.name)
    # A snapshot of the engine and every plugin, so the checkout may change during the run.
    snapshot = work / "snapshot"
    shutil.copytree(ROOT / "evoengine", snapshot / "core" / "evoengine",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for plugin in sorted(ROOT.glob("plugins/*/evoengine_*")):
        shutil.copytree(plugin, snapshot / plugin.parent.name / plugin.name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    # A test file, or one test (file::name), as it lies in the scratch copy's tests/.
    selection = ", ".join(json.dumps("tests/" + t.rsplit("tests/", 1)[1]) for t in tests)
    (work / "pyproject.toml").write_text(f"""\
[tool.pytest.ini_options]
addopts = "-p no:cacheprovider --benchmark-disable"

[tool.mutmut]
source_paths = ["{package_dir.name}"]
only_mutate = ["{module}"]
pytest_add_cli_args_test_selection = [{selection}]
""")
    return work


def run(name: str, only_survivors: bool = False) -> dict:
    mutants = []
    if only_survivors:
        listed = SCRATCH / name / "survivors.txt"
        if not listed.is_file():
            raise SystemExit(f"no earlier run of {name} to take the survivors of ({listed})")
        mutants = listed.read_text().split()
    work = prepare(name)
    env = dict(os.environ)
    # The snapshot's engine and plugins; mutmut puts the mutated copy before them on sys.path.
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in sorted((work / "snapshot").iterdir()))
    env["NUMBA_NUM_THREADS"] = "1"
    start = time.monotonic()
    cpu_before = _children_cpu()
    done = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", "1",
                           *mutants], cwd=work, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"mutmut failed on {name}")
    subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=work, env=env,
                   check=True, capture_output=True)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
    results = subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=work, env=env,
                             capture_output=True, text=True, check=True).stdout
    killed = stats["killed"] + stats.get("timeout", 0)
    survived = stats["survived"] + stats.get("no_tests", 0)
    score = killed / max(1, killed + survived)
    again = f"(the {len(mutants)} survivors again) " if mutants else ""
    print(f"{name:10s} {MODULES[name][1]:35s} {again}killed {killed:4d}  survived {survived:4d}  "
          f"score {score:6.1%}  ({time.monotonic() - start:.0f} s, "
          f"{_children_cpu() - cpu_before:.0f} CPU s)", flush=True)
    survivors = [line.split(":")[0].strip() for line in results.splitlines()
                 if line.strip().endswith(("survived", "no tests"))]
    (work / "survivors.txt").write_text("\n".join(survivors) + "\n")
    return {"killed": killed, "survived": survived, "score": score, "stats": stats}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(args: list[str]) -> None:
    only_survivors = "--survivors" in args
    names = [a for a in args if a != "--survivors"]
    for name in names or list(MODULES):
        if name not in MODULES:
            raise SystemExit(f"unknown module {name!r}; choose from {', '.join(MODULES)}")
        run(name, only_survivors)


if __name__ == "__main__":
    main(sys.argv[1:])
