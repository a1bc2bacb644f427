"""The ``evoengine`` command.

    evoengine run PROBLEM [-c settings.toml] [--set key=value ...] [--seed N] [--out DIR]
    evoengine resume [RUN_FOLDER]
    evoengine runs [FOLDER] [--json]
    evoengine show PROBLEM [-c settings.toml] [--set key=value ...] [--json]
    evoengine plugins

A mistake in the user's input (an unknown problem or setting, a bad value) is printed as one
line starting with ``error:`` and exits with code 2, without a traceback.
"""

from __future__ import annotations

import json
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evoengine import __version__, config
from evoengine.errors import EvoengineError
from evoengine.plugins import load_plugins
from evoengine.problem import describe_solution
from evoengine.runs import recorded

console = Console(stderr=True)
out = Console()


class EvoengineGroup(click.Group):
    """Turns user errors into one ``error:`` line and exit code 2, and offers the commands
    plugins add (hook ``evoengine_add_commands``), loaded only when they are asked for."""

    _plugin_commands_added = False

    def _add_plugin_commands(self) -> None:
        if not self._plugin_commands_added:
            self._plugin_commands_added = True
            load_plugins().manager.hook.evoengine_add_commands(cli=self)

    def get_command(self, ctx, cmd_name):
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._add_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx):
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EvoengineError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        """Click's own usage errors (an unknown option, a missing PROBLEM) as one ``error:``
        line too, with where the help is, instead of click's usage block."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            done = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            message = " ".join(exc.format_message().split()).rstrip(".")
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            click.echo(f"error: {message[:1].lower()}{message[1:]}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(done if isinstance(done, int) else 0)


@click.group(cls=EvoengineGroup)
@click.version_option(__version__, prog_name="evoengine")
def main() -> None:
    """Evolutionary optimization with compiled operators and pluggable problems."""


def _report_failures(failures: dict[str, str]) -> None:
    for name, why in failures.items():
        console.print(f"[yellow]warning:[/] plugin {name!r} skipped: {why}", highlight=False)


@main.command()
def plugins() -> None:
    """List the installed plugins, their versions and problems."""
    loaded = load_plugins()
    table = Table(title="evoengine plugins")
    table.add_column("plugin")
    table.add_column("version")
    table.add_column("problem")
    table.add_column("summary")
    for info in sorted(loaded.plugins.values(), key=lambda i: i.name):
        entries = [loaded.registry.get(p) for p in info.problems] or [None]
        for n, entry in enumerate(entries):
            table.add_row(info.name if n == 0 else "", info.version if n == 0 else "",
                          entry.name if entry else "-", entry.summary if entry else "")
    out.print(table)
    for name, why in loaded.failures.items():
        out.print(f"[red]failed[/] {name}: {why}", highlight=False)


def _settings_options(command):
    """The options that give a problem its settings, shared by ``run`` and ``show``."""
    command = click.option("-s", "--set", "assignments", multiple=True, metavar="KEY=VALUE",
                           help="Override one setting; values are TOML (3, 0.5, [-4, 4], "
                           "true) or text.")(command)
    return click.option("-c", "--config", "config_file", metavar="FILE",
                        help="TOML file of settings (flat keys, or [problem] and [algorithm] "
                        "tables).")(command)


def _read_settings(config_file: str | None, assignments, seed: int | None = None) -> dict:
    """Flat settings from ``-c``, then ``--set``, then ``--seed`` (later ones win)."""
    values = config.read_toml(config_file) if config_file else {}
    values.update(config.parse_assignments(assignments))
    if seed is not None:
        values["seed"] = seed
    return values


class RunCommand(click.Command):
    """``evoengine run PROBLEM --help`` adds PROBLEM's settings (as ``evoengine show``) to the
    command's help."""

    def parse_args(self, ctx, args):
        if any(a in ctx.help_option_names for a in args):
            opts, _, _ = self.make_parser(ctx).parse_args(args=list(args))
            ctx.meta["evoengine.run_options"] = opts
        return super().parse_args(ctx, args)

    def get_help(self, ctx) -> str:
        text = super().get_help(ctx)
        opts = ctx.meta.get("evoengine.run_options") or {}
        # What the parser did not see is click's UNSET marker (click 8.3), not None.
        problem, config_file, assignments, seed = (
            _given(opts, "problem", str), _given(opts, "config_file", str),
            _given(opts, "assignments", (list, tuple)), _given(opts, "seed", (str, int)))
        if not problem:
            return text
        try:
            values = _read_settings(config_file, assignments or (), seed)
            entry = load_plugins().registry.get(problem)
            from evoengine.describe import describe_problem, print_description

            description = describe_problem(entry, values)
        except EvoengineError as exc:
            return f"{text}\n\nerror: {exc}"
        import io

        buffer = io.StringIO()
        render = Console(file=buffer, width=out.width, force_terminal=out.is_terminal,
                         color_system=out.color_system)
        print_description(render, description)
        return f"{text}\n\n{buffer.getvalue().rstrip()}"


def _given(opts: dict, name: str, kind):
    """An option's raw value from click's parser, or None if it was not given."""
    value = opts.get(name)
    return value if isinstance(value, kind) else None


@main.command(cls=RunCommand)
@click.argument("problem")
@_settings_options
@click.option("--seed", type=int, help="Random seed: the same seed gives the same run.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="runs",
              show_default=True, help="Folder in which the run folder is made.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def run(problem: str, config_file: str | None, assignments: tuple[str, ...],
        seed: int | None, out_dir: str, quiet: bool) -> None:
    """Optimize PROBLEM and write a run folder (config, logbook, best solution, plot).

    'evoengine run PROBLEM --help' lists PROBLEM's settings too."""
    from evoengine.report import new_run_folder, write_run_folder
    from evoengine.run import optimize, prepare

    loaded = load_plugins()
    _report_failures(loaded.failures)
    entry = loaded.registry.get(problem)
    values = _read_settings(config_file, assignments, seed)
    prepared = prepare(entry, values)
    if prepared.settings.seed is None:  # record the seed actually used, so the run repeats
        import secrets

        prepared.settings.seed = secrets.randbits(32)
    for note in prepared.problem.notes:
        console.print(f"[cyan]note:[/] {note}", highlight=False)

    folder = new_run_folder(out_dir, problem)
    checkpoint = _checkpointer(folder, prepared, loaded)
    with _until_interrupted(checkpoint), recorded(folder, problem):  # run.json, for `runs`
        result = _optimize_with_progress(
            optimize, prepared, quiet, checkpoint=checkpoint, problem_name=problem,
            folder=folder, plugins=loaded.manager, run_config=prepared.as_dict(),
            before_end=lambda result: _write_results(write_run_folder, folder, prepared,
                                                     result, checkpoint))
        _print_summary(prepared, result, folder)
        _print_report(result)


@main.command()
@click.argument("problem")
@_settings_options
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def show(problem: str, config_file: str | None, assignments: tuple[str, ...],
         as_json: bool) -> None:
    """Describe PROBLEM: its settings (type, default, range or choices) and the algorithm
    settings it runs with, operators included; with -c/--set, as those settings make it."""
    from evoengine.describe import describe_problem, print_description

    loaded = load_plugins()
    _report_failures(loaded.failures)
    description = describe_problem(loaded.registry.get(problem),
                                   _read_settings(config_file, assignments))
    if as_json:
        click.echo(json.dumps(description, indent=2))
    else:
        print_description(out, description)


@main.command()
@click.argument("folder", default="runs", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def runs(folder: str, as_json: bool) -> None:
    """List the run folders in FOLDER (default: runs), newest first: problem, status
    (finished, interrupted, failed, running; whether it can be resumed), generations, best
    value, start time and duration."""
    from evoengine.runs import list_runs

    found = list_runs(folder)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in found], indent=2))
        return
    if not found:
        out.print(f"no run folders in {folder}", highlight=False)
        return
    table = Table(title=f"runs in {folder}, newest first", title_justify="left")
    for column in ("run folder", "problem", "status", "generations", "best", "started",
                   "duration"):
        table.add_column(column, overflow="fold")
    for r in found:
        status = {"finished": "[green]finished[/]", "failed": "[red]failed[/]",
                  "running": "[cyan]running[/]"}.get(r.status, f"[yellow]{r.status}[/]")
        if r.resumable:
            status += " (resumable)"
        if r.error:
            status += f": {escape(r.error)}"
        best = ", ".join(f"{k} = {v:.6g}" for k, v in r.best.items()) if r.best else "-"
        table.add_row(escape(str(r.folder)), escape(r.problem), status,
                      "-" if r.generations is None else str(r.generations), escape(best),
                      r.started.strftime("%Y-%m-%d %H:%M:%S") if r.started else "-",
                      _duration(r.seconds))
    out.print(table)
    latest = next((r for r in found if r.resumable), None)
    if latest is not None:
        out.print(f"continue the latest interrupted run with: evoengine resume {latest.folder}",
                  highlight=False, soft_wrap=True)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@main.command()
@click.argument("run_folder", required=False, type=click.Path(file_okay=False))
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def resume(run_folder: str | None, quiet: bool) -> None:
    """Continue the run in RUN_FOLDER from its newest whole checkpoint.

    The run ends as it would have without the interruption. A damaged checkpoint is refused
    (the next older one is used); one written by other plugin or engine versions is refused.
    Without RUN_FOLDER, names the latest interrupted run in runs/.
    A checkpoint names the problem and its settings (a game=python:... class included), so
    resume only run folders you trust as you would trust code.
    """
    from evoengine.checkpoint import Checkpointer, check_compatible, load_latest, restore
    from evoengine.records import Recorder
    from evoengine.report import write_run_folder
    from evoengine.run import make_optimizer, optimize, prepare

    if run_folder is None:
        _suggest_resumable("runs")
    folder = Path(run_folder)
    saved, refused = load_latest(folder)
    for why in refused:
        console.print(f"[yellow]warning:[/] refused {why}", highlight=False)
    loaded = load_plugins()
    _report_failures(loaded.failures)
    entry = loaded.registry.get(saved.info.problem)
    check_compatible(saved, entry.plugin, _plugin_version(loaded, entry.plugin))
    prepared = prepare(entry, saved.info.settings)
    opt = make_optimizer(prepared.problem, prepared.settings)
    restore(opt, saved)  # every field checked against the problem and settings
    checkpoint = Checkpointer(folder, saved.info, prepared.settings.checkpoint_every)
    checkpoint.resumed_from(saved)
    recorder = Recorder(folder)
    recorder.restore_state(saved.records)
    with _until_interrupted(checkpoint), recorded(folder, saved.info.problem, resumed=True):
        console.print(f"resuming {saved.info.problem} at generation {saved.generation} "
                      f"({saved.path})", highlight=False)
        result = _optimize_with_progress(
            optimize, prepared, quiet, optimizer=opt, checkpoint=checkpoint,
            problem_name=saved.info.problem, folder=folder, plugins=loaded.manager,
            recorder=recorder, resumed=True, run_config=prepared.as_dict(),
            before_end=lambda result: _write_results(write_run_folder, folder, prepared,
                                                     result, checkpoint))
        _print_summary(prepared, result, folder)
        _print_report(result)


def _suggest_resumable(base: str) -> None:
    """``evoengine resume`` without a folder: name the latest interrupted run, exit 2."""
    from evoengine.runs import latest_resumable

    latest = latest_resumable(base) if Path(base).is_dir() else None
    if latest is None:
        raise EvoengineError(f"give the run folder to resume; there is no interrupted run in "
                             f"{base}/ ('evoengine runs FOLDER' lists run folders)")
    raise EvoengineError(
        f"give the run folder to resume; the latest interrupted run is {latest.folder} "
        f"({latest.problem}, generation {latest.generations}): "
        f"evoengine resume {latest.folder}")


def _plugin_version(loaded, plugin: str) -> str:
    info = loaded.plugins.get(plugin)
    return info.version if info is not None else "-"


def _checkpointer(folder: Path, prepared, loaded):
    from evoengine.checkpoint import Checkpointer, RunInfo

    info = RunInfo(prepared.entry.name, prepared.entry.plugin,
                   _plugin_version(loaded, prepared.entry.plugin), prepared.as_dict())
    return Checkpointer(folder, info, prepared.settings.checkpoint_every)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``, a scheduler or container stopping the run), raised where Ctrl-C
    raises KeyboardInterrupt, so that the run stops the same way: the last whole generation
    checkpointed, the run recorded as interrupted."""


@contextmanager
def _until_interrupted(checkpoint):
    """Run the body; on Ctrl-C or SIGTERM say where the checkpoint is and exit as a shell
    expects of that signal (130 or 143, 128 + its number)."""
    def terminate(signum, frame):
        # A second SIGTERM while the checkpoint is written ends the run at once: the write is
        # atomic, so the last checkpoint stays whole.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread (an embedding application): SIGTERM is its own
        previous = None
    try:
        yield
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        folder = checkpoint.folder.parent
        saved = f"checkpoint {checkpoint.last}" if checkpoint.last else "no checkpoint yet"
        console.print(f"{'terminated (SIGTERM)' if terminated else 'interrupted'}; {saved}; "
                      f"continue with: evoengine resume {folder}", highlight=False,
                      soft_wrap=True)  # one line: the command can be copied whole
        sys.exit(128 + (signal.SIGTERM if terminated else signal.SIGINT))
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _write_results(write_run_folder, folder: Path, prepared, result, checkpoint) -> None:
    try:
        write_run_folder(folder, prepared.as_dict(), prepared.entry.name, prepared.problem,
                         result)
    except OSError as exc:
        raise EvoengineError(
            f"cannot write the run folder {folder}: {exc.strerror or exc}; the checkpoint "
            f"{checkpoint.last} is intact: once there is room, 'evoengine resume {folder}' "
            "writes the results") from None


def _print_report(result) -> None:
    """The lines the plugins' ``evoengine_run_end`` hooks returned (closing reports)."""
    for line in result.report:
        out.print(line, highlight=False)


def _print_summary(prepared, result, folder: Path) -> None:
    objectives = prepared.problem.objectives
    fitness = ", ".join(f"{o.name} = {v:.6g} ({o.sense})"
                        for o, v in zip(objectives, result.best_fitness, strict=True))
    out.print(f"best: {fitness}", highlight=False)
    solution = describe_solution(prepared.problem, result.best_genome, result.best_info)
    for key, value in solution.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out.print(f"  {key}:", highlight=False)  # records (a front): one line each
            for record in value:
                out.print("    " + ", ".join(f"{k} {_shown_value(v)}"
                                             for k, v in record.items()), highlight=False)
        else:
            out.print(f"  {key}: {value}", highlight=False)
    out.print(f"{result.generations} generations, {result.evaluations} evaluations; "
              f"stopped: {'; '.join(result.stop_reasons)}", highlight=False)
    out.print(f"run folder: {folder}", highlight=False)


def _shown_value(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _optimize_with_progress(optimize, prepared, quiet: bool, **options):
    settings = prepared.settings
    if quiet:
        return optimize(prepared.problem, settings, **options)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("best {task.fields[best]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("generation", total=settings.generations, best="-")

        def on_generation(opt):
            progress.update(task, completed=opt.generation,
                            best=f"{opt.logbook[-1]['best']:.6g}"
                            if isinstance(opt.logbook[-1]["best"], float) else "-")

        return optimize(prepared.problem, settings, on_generation=on_generation, **options)


if __name__ == "__main__":  # pragma: no cover
    main()
