"""What a ``scheme = "pbt"`` run leaves in its run folder, rewritten after every interval by the
plugin's lifecycle hooks from the run's records (``run.recorder``'s ``members`` table, which
the engine keeps in the checkpoints, so a resumed run continues its histories):

- ``pbt_history.csv``: every member at every interval: its measure, the member whose weights
  it continued from, and its hyperparameters;
- ``pbt_schedules.png``: each member's measure and explored hyperparameters against the
  examples it trained on; the winner's line (through the members it copied) in colour;
- ``pbt_lineage.json`` and ``pbt_lineage.png``: the winner's ancestry, who copied whom;
- ``samples/gen-NNN.png``: the best member's images at each interval;
- ``artifacts/generator/``: the winner's generator as ``evoengine gan-train`` saves one
  (``generator.pt``, a ``state_dict``; ``generator.json``; ``samples.png``), written by the
  optimizer into the run's artifacts folder and read back by
  :func:`evoengine_gan.train_command.load_generator`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from evoengine.io import write_atomic
from evoengine_gan.output import _pyplot, _save, sample_grid

PLOT_EVERY = 5  # intervals between redrawn plots (and at the end); a plot costs ~0.5 s


def intervals_of(recorder) -> list[tuple[int, list[dict[str, Any]]]]:
    """``(generation, members)`` of every interval recorded so far."""
    return recorder.table("members")


def lineage(intervals: list[tuple[int, list[dict[str, Any]]]],
            member: int) -> list[dict[str, Any]]:
    """The ancestry of ``member`` at the last interval, first interval first: at each interval
    the member whose weights it was, the member it copied them from, its hyperparameters and
    its measure."""
    steps = []
    for generation, rows in reversed(intervals):
        row = rows[member]
        steps.append({"generation": generation, **row})
        member = row["copied_from"] if row["copied_from"] is not None else member
    return steps[::-1]


def winner(rows: list[dict[str, Any]]) -> int | None:
    """The member still training with the best measure of ``rows`` (one interval's)."""
    fds = np.array([np.nan if r.get("retired") else r["frechet_distance"] for r in rows],
                   dtype=float)
    if not np.isfinite(fds).any():
        return None
    return int(np.nanargmin(np.where(np.isfinite(fds), fds, np.nan)))


def write_interval(run, record, *, final: bool = False) -> None:
    """The run folder's PBT files after the interval of ``record`` (or at the end)."""
    folder, problem = run.folder, run.problem
    intervals = intervals_of(run.recorder)
    if not intervals:
        return
    generation, rows = intervals[-1]
    best = winner(rows)
    if best is None:
        return
    if record is not None and record.info:
        config = rows[best]["config"]
        sample_grid(np.asarray(record.info[best]["samples"]),
                    folder / "samples" / f"gen-{generation:03d}.png",
                    f"interval {generation}, {rows[best]['examples']} examples: member {best}, "
                    f"FD {rows[best]['frechet_distance']:.3g}\nlr_g {config['lr_g']:.2g}, "
                    f"lr_d {config['lr_d']:.2g}, {config['loss']}")
    explored = problem.explored
    steps = lineage(intervals, best)
    write_atomic(folder / "pbt_history.csv", history_csv(intervals, explored).encode())
    write_atomic(folder / "pbt_lineage.json",
                 (json.dumps({"winner": best, "lineage": steps}, indent=1) + "\n").encode())
    if final or (generation and generation % PLOT_EVERY == 0):
        plot_schedules(intervals, steps, explored, problem.space, folder / "pbt_schedules.png")
        plot_lineage(intervals, steps, folder / "pbt_lineage.png")


def save_generator(problem, trainable, member: int, out: Path) -> None:
    """Member ``member``'s generator, saved as ``gan-train`` saves one."""
    import torch

    population = trainable.population
    generator = population.generator_of(member)
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(generator.state_dict(), buffer)
    write_atomic(out / "generator.pt", buffer.getvalue())
    fd = float(trainable.measures[member])
    info = {"config": population.configs[member], "image_shape": list(problem.data.shape),
            "frechet_distance": fd, "member": member,
            "parameters": population.sizes[member], "device": str(population.setup.device),
            "scheme": "pbt"}
    write_atomic(out / "generator.json", (json.dumps(info, indent=2) + "\n").encode())
    sample_grid(trainable.grids[member], out / "samples.png", f"PBT winner: FD {fd:.3g}")


def history_csv(intervals, explored) -> str:
    lines = [",".join(["generation", "examples", "member", "copied_from", "frechet_distance",
                       *explored])]
    for generation, rows in intervals:
        for row in rows:
            source = row["copied_from"]
            lines.append(",".join([str(generation), str(row["examples"]), str(row["member"]),
                                   "" if source is None else str(source),
                                   f"{row['frechet_distance']:.6g}",
                                   *(f"{row['config'][n]:.6g}" for n in explored)]))
    return "\n".join(lines) + "\n"


def plot_schedules(intervals, steps, explored, space, path: Path) -> None:
    """The measure and each explored hyperparameter of every member over the examples."""
    plt = _pyplot()
    # Members still training share one count (copies are only between them); a retired
    # member's stays where it retired, and its lines end there.
    examples = np.array([max(r["examples"] for r in rows) for _, rows in intervals],
                        dtype=float)
    interval = examples[0] if len(examples) == 1 else examples[1] - examples[0]
    edges = np.concatenate([[examples[0] - interval], examples])
    panels = ["frechet_distance", *explored]
    cols = 3
    fig, axes = plt.subplots(-(-len(panels) // cols), cols, figsize=(12, 2.8 * -(-len(panels)
                                                                              // cols)),
                             dpi=100, squeeze=False)
    members = len(intervals[0][1])
    for ax, name in zip(axes.flat, panels, strict=False):
        # A measure is taken at the end of an interval; a hyperparameter holds through one.
        if name == "frechet_distance":
            for m in range(members):
                ax.plot(examples, [_unless_retired(rows[m], rows[m][name])
                                   for _, rows in intervals], color="gray", alpha=0.35, lw=0.8)
            ys = [step[name] for step in steps]
            ax.plot(examples, ys, "o-", color="tab:red", lw=2, ms=3, label="winner's line")
        else:
            for m in range(members):
                ax.stairs([_unless_retired(rows[m], rows[m]["config"][name])
                           for _, rows in intervals], edges, color="gray", alpha=0.35, lw=0.8,
                          baseline=None)
            ys = [step["config"][name] for step in steps]
            ax.stairs(ys, edges, color="tab:red", lw=2, baseline=None)
        gene = next((g for g in space.genes if g.name == name), None)
        values = np.asarray(ys, dtype=float)
        if (name == "frechet_distance" or (gene is not None and gene.kind == "log")) and np.all(
                values[np.isfinite(values)] > 0):
            ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_axis_off()
    axes.flat[0].legend(fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("examples per member")
    fig.suptitle("PBT: each member's measure and hyperparameters (gray); the winner's line, "
                 "through the members it copied (red)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def _unless_retired(row: dict[str, Any], value: Any) -> float:
    """``value`` for a member still training, NaN (nothing drawn) once it retired."""
    return float("nan") if row.get("retired") else float(value)


def plot_lineage(intervals, steps, path: Path) -> None:
    """Members over intervals, coloured by measure; an arrow for every copy; the winner's
    ancestry drawn thick."""
    plt = _pyplot()
    gens = np.array([g for g, _ in intervals])
    fds = np.array([[_unless_retired(r, r["frechet_distance"]) for r in rows]
                    for _, rows in intervals], dtype=float)
    n = fds.shape[1]
    fig, ax = plt.subplots(figsize=(min(14, max(7, 3 + 0.25 * len(gens))), 1.5 + 0.45 * n),
                           dpi=100)
    finite = fds[np.isfinite(fds)]
    norm = None
    if finite.size and finite.min() > 0:
        from matplotlib.colors import LogNorm

        norm = LogNorm(finite.min(), finite.max())
    points = ax.scatter(np.repeat(gens, n), np.tile(np.arange(n), len(gens)), c=fds.ravel(),
                        cmap="viridis_r", norm=norm, s=30, zorder=3)
    for t in range(1, len(intervals)):
        for row in intervals[t][1]:
            if row["copied_from"] is not None:
                ax.annotate("", xy=(gens[t], row["member"]),
                            xytext=(gens[t - 1], row["copied_from"]),
                            arrowprops={"arrowstyle": "->", "color": "gray", "alpha": 0.5})
    ax.plot([s["generation"] for s in steps], [s["member"] for s in steps], color="tab:red",
            lw=2.5, zorder=2, label="winner's ancestry")
    fig.colorbar(points, ax=ax, label="Fréchet distance")
    ax.set_xlabel("interval (generation)")
    ax.set_ylabel("member")
    ax.set_yticks(range(n))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize=8)
    ax.set_title("PBT lineage: an arrow is a member copying another's weights", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def closing_lines(folder: Path) -> list[str]:
    """What to tell the user at the end of a PBT run."""
    path = folder / "artifacts" / "generator" / "generator.json"
    lineage_path = folder / "pbt_lineage.json"
    if not path.exists() or not lineage_path.exists():
        return []
    info = json.loads(path.read_text())
    data = json.loads(lineage_path.read_text())
    copies = sum(step["copied_from"] is not None for step in data["lineage"])
    examples = data["lineage"][-1]["examples"]
    return [f"PBT winner: member {data['winner']}, FD {info['frechet_distance']:.4g} after "
            f"{examples} examples on its line; its line copied weights {copies} times "
            f"(pbt_lineage.json, pbt_schedules.png)",
            f"winner's generator: {path.parent / 'generator.pt'}"]
