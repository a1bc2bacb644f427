"""What a ``scheme = "pbt"`` run leaves in its run folder, rewritten after every interval:

- ``pbt_history.csv``: every member at every interval: its measure, the member whose weights
  it continued from, and its hyperparameters;
- ``pbt_schedules.png``: each member's measure and explored hyperparameters against the
  examples it trained on; the winner's line (through the members it copied) in colour;
- ``pbt_lineage.json`` and ``pbt_lineage.png``: the winner's ancestry, who copied whom;
- ``samples/gen-NNN.png``: the best member's images at each interval;
- ``generator/``: the winner's generator as ``evoengine gan-train`` saves one
  (``generator.pt``, a ``state_dict``; ``generator.json``; ``samples.png``), read back by
  :func:`evoengine_gan.train_command.load_generator`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from evoengine.report import write_atomic
from evoengine_gan.output import _pyplot, _save, sample_grid
from evoengine_gan.pbt import PopulationBasedTraining

PLOT_EVERY = 5  # intervals between redrawn plots (and the last one); a plot costs ~0.5 s


class PBTReport:
    """Observer of a :class:`PopulationBasedTraining` run of the gan problem."""

    def __init__(self, problem, folder: Callable[[], Path | None]) -> None:
        self.problem, self.folder = problem, folder

    def __call__(self, opt: PopulationBasedTraining) -> None:
        folder = self.folder()
        if folder is None:
            return
        last = opt.intervals[-1]
        fd = last.fitness[:, 0]
        if not np.isfinite(fd).any():
            return
        best = int(np.nanargmin(fd))
        config = self.problem.space.decode(last.genomes[best])
        grids = getattr(opt.trainable, "grids", None)
        if grids is not None:
            sample_grid(grids[best], folder / "samples" / f"gen-{last.generation:03d}.png",
                        f"interval {last.generation}, {last.examples} examples: member "
                        f"{best}, FD {fd[best]:.3g}\nlr_g {config['lr_g']:.2g}, lr_d "
                        f"{config['lr_d']:.2g}, {config['loss']}")
        lineage = opt.lineage(best)
        write_atomic(folder / "pbt_history.csv", history_csv(opt).encode())
        write_atomic(folder / "pbt_lineage.json",
                     (json.dumps({"winner": best, "lineage": lineage}, indent=1) + "\n").encode())
        self._save_generator(opt, best, folder, float(fd[best]), last.examples)
        final = last.generation >= opt.settings.generations
        if final or (last.generation and last.generation % PLOT_EVERY == 0):
            plot_schedules(opt, lineage, folder / "pbt_schedules.png")
            plot_lineage(opt, lineage, folder / "pbt_lineage.png")

    def _save_generator(self, opt, member: int, folder: Path, frechet: float,
                        examples: int) -> None:
        import torch

        trainable = opt.trainable
        generator = trainable.population.generator_of(member)
        out = folder / "generator"
        out.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save(generator.state_dict(), buffer)
        write_atomic(out / "generator.pt", buffer.getvalue())
        info = {"config": trainable.population.configs[member],
                "image_shape": list(self.problem.data.shape), "budget": examples,
                "frechet_distance": frechet, "member": member,
                "parameters": trainable.population.sizes[member],
                "device": str(trainable.population.setup.device),
                "scheme": "pbt", "generation": opt.intervals[-1].generation}
        write_atomic(out / "generator.json", (json.dumps(info, indent=2) + "\n").encode())
        if trainable.grids is not None:
            sample_grid(trainable.grids[member], out / "samples.png",
                        f"PBT winner after {examples} examples: FD {frechet:.3g}")


def history_csv(opt: PopulationBasedTraining) -> str:
    names = [g.name for g in opt.problem.space.genes if g.name in opt.problem.explored]
    lines = [",".join(["generation", "examples", "member", "copied_from", "frechet_distance",
                       *names])]
    for interval in opt.intervals:
        for m, genome in enumerate(interval.genomes):
            config = opt.problem.space.decode(genome)
            source = int(interval.sources[m])
            lines.append(",".join([str(interval.generation), str(interval.examples), str(m),
                                   "" if source == m else str(source),
                                   f"{interval.fitness[m, 0]:.6g}",
                                   *(f"{config[n]:.6g}" for n in names)]))
    return "\n".join(lines) + "\n"


def plot_schedules(opt: PopulationBasedTraining, lineage: list[dict], path: Path) -> None:
    """The measure and each explored hyperparameter of every member over the examples."""
    plt = _pyplot()
    space, names = opt.problem.space, [n for n in opt.problem.explored]
    examples = np.array([i.examples for i in opt.intervals])
    configs = [[space.decode(g) for g in i.genomes] for i in opt.intervals]
    panels = ["frechet_distance", *names]
    cols = 3
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), dpi=100,
                             squeeze=False)
    edges = np.concatenate([[examples[0] - opt.pbt.interval], examples])
    for ax, name in zip(axes.flat, panels, strict=False):
        # A measure is taken at the end of an interval; a hyperparameter holds through one.
        if name == "frechet_distance":
            for m in range(len(opt.intervals[0].genomes)):
                ax.plot(examples, [i.fitness[m, 0] for i in opt.intervals], color="gray",
                        alpha=0.35, lw=0.8)
            ys = [step["fitness"][0] for step in lineage]
            ax.plot(examples, ys, "o-", color="tab:red", lw=2, ms=3, label="winner's line")
        else:
            for m in range(len(opt.intervals[0].genomes)):
                ax.stairs([c[m][name] for c in configs], edges, color="gray", alpha=0.35,
                          lw=0.8, baseline=None)
            ys = [step["config"][name] for step in lineage]
            ax.stairs(ys, edges, color="tab:red", lw=2, baseline=None)
        gene = next((g for g in space.genes if g.name == name), None)
        if name == "frechet_distance" or (gene is not None and gene.kind == "log"):
            finite = np.asarray(ys, dtype=float)
            if np.all(finite[np.isfinite(finite)] > 0):
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


def plot_lineage(opt: PopulationBasedTraining, lineage: list[dict], path: Path) -> None:
    """Members over intervals, coloured by measure; an arrow for every copy; the winner's
    ancestry drawn thick."""
    plt = _pyplot()
    fds = np.array([i.fitness[:, 0] for i in opt.intervals])  # T x N
    gens = np.array([i.generation for i in opt.intervals])
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
    for t, interval in enumerate(opt.intervals):
        for m, source in enumerate(interval.sources):
            if source != m and t > 0:
                ax.annotate("", xy=(gens[t], m), xytext=(gens[t - 1], source),
                            arrowprops={"arrowstyle": "->", "color": "gray", "alpha": 0.5})
    ax.plot([s["generation"] for s in lineage], [s["member"] for s in lineage], color="tab:red",
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
    path = folder / "generator" / "generator.json"
    if not path.exists():
        return []
    info = json.loads(path.read_text())
    lineage = json.loads((folder / "pbt_lineage.json").read_text())["lineage"]
    copies = sum(step["copied_from"] is not None for step in lineage)
    return [f"PBT winner: member {info['member']}, FD {info['frechet_distance']:.4g} after "
            f"{info['budget']} examples per member; its line copied weights {copies} times "
            f"(pbt_lineage.json, pbt_schedules.png)",
            f"winner's generator: {folder / 'generator' / 'generator.pt'}"]
