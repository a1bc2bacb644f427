"""What a ``gan`` run leaves in its run folder, generation by generation.

- ``samples/gen-NNN.png``: a grid of images from the best configuration so far (with the
  ``processes`` or ``ray`` backend, which evaluate in other processes: ``samples/best.png``,
  the best configuration trained again at the end, see ``GanProblem.finish_run``);
- ``gan_measures.png`` and ``gan_history.csv``: Fréchet distance and KID across generations;
- ``best_gan.toml``: the best configuration with every gene fixed, which both
  ``evoengine run gan -c best_gan.toml`` and ``evoengine gan-train best_gan.toml`` read;
- ``feature_net.pt``: the feature classifier (see :mod:`evoengine_gan.features`).

Each file is rewritten after every generation, so an interrupted run keeps its pictures.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from evoengine.io import write_atomic
from evoengine_gan.problem import GanProblem, Measures

# Settings that say how a configuration is trained and measured (not what is searched).
TRAINING_KEYS = ("data", "data_labels", "data_limit", "held_out_fraction", "budget", "samples",
                 "training_seed", "classifier_steps")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    _pyplot().close(fig)
    write_atomic(path, buf.getvalue())


def sample_grid(images: np.ndarray, path: Path, title: str) -> None:
    """A square grid of grey images (``N x 1 x H x W`` in ``[-1, 1]``) as a PNG."""
    plt = _pyplot()
    n = len(images)
    side = math.ceil(math.sqrt(n))
    h, w = images.shape[2:]
    canvas = np.ones((side * (h + 1) + 1, side * (w + 1) + 1))
    for i, img in enumerate(images):
        r, c = divmod(i, side)
        canvas[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = (
            (img[0] + 1.0) / 2.0)
    fig, ax = plt.subplots(figsize=(4, 4.3), dpi=110)
    ax.imshow(np.clip(canvas, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(fig, path)


def best_config_toml(problem: GanProblem, config: dict[str, Any], note: str = "") -> str:
    """The settings that train ``config`` again: training keys plus a fully fixed space."""
    s = problem.settings
    table: dict[str, Any] = {k: getattr(s, k) for k in TRAINING_KEYS if getattr(s, k) is not None}
    table["space"] = {k: (float(v) if isinstance(v, float) else v) for k, v in config.items()}
    header = ("# The best GAN configuration of an evoengine run" + (f" ({note})" if note else "")
              + ".\n# Train it longer and save the generator:\n"
              "#   evoengine gan-train best_gan.toml --budget 200000\n"
              "# Measure it again:  evoengine run gan -c best_gan.toml\n")
    return header + tomli_w.dumps(table)


def write_best(problem: GanProblem, folder: Path, config: dict[str, Any],
               measures: Measures) -> list[str]:
    """``samples/best.png`` and ``best_gan.toml`` for a best configuration trained again after
    a run whose evaluations ran in other processes; the lines to show the user."""
    note = f"FD {measures.frechet:.4g}, KID {measures.kid:.4g}, trained again after the run"
    write_atomic(folder / "best_gan.toml", best_config_toml(problem, config, note).encode())
    if measures.samples is None:
        return [f"the best configuration failed when trained again here: {measures.failure}"]
    sample_grid(measures.samples, folder / "samples" / "best.png",
                f"best: FD {measures.frechet:.3g}, KID {measures.kid:.3g}")
    return ["evaluations ran in the backend's workers, so the best configuration was trained "
            f"again here for samples/best.png and best_gan.toml (FD {measures.frechet:.4g})"]


class RunPictures:
    """Writes the run folder's GAN files after each evaluated generation."""

    def __init__(self, problem: GanProblem, folder: Path) -> None:
        self.problem, self.folder = problem, Path(folder)
        self.generation = -1
        self.best: tuple[Measures, dict[str, Any]] | None = None
        self.history: list[tuple[int, float, float, float]] = []  # gen, best FD, its KID, gen FD
        self.floor: float | None = None  # FD of real training images: what a perfect G scores
        problem.use_cache_folder(self.folder)
        problem.on_evaluated.append(self)

    def __call__(self, genomes: np.ndarray, configs: list[dict], measures: list[Measures]) -> None:
        self.generation += 1
        fds = np.array([m.frechet for m in measures])
        finite = np.isfinite(fds)
        generation_best = float(fds[finite].min()) if finite.any() else float("nan")
        if finite.any():
            i = int(np.nanargmin(np.where(finite, fds, np.nan)))
            if self.best is None or fds[i] < self.best[0].frechet:
                self.best = (measures[i], configs[i])
        if self.best is None:
            return
        best, config = self.best
        self.history.append((self.generation, best.frechet, best.kid, generation_best))
        sample_grid(best.samples, self.folder / "samples" / f"gen-{self.generation:03d}.png",
                    f"generation {self.generation}: FD {best.frechet:.3g}, KID {best.kid:.3g}\n"
                    f"{config['architecture']}, {config['loss']}, lr_g {config['lr_g']:.2g}, "
                    f"lr_d {config['lr_d']:.2g}")
        note = f"FD {best.frechet:.4g}, KID {best.kid:.4g}, generation {self.generation}"
        write_atomic(self.folder / "best_gan.toml",
                     best_config_toml(self.problem, config, note).encode())
        self._write_history()

    def _write_history(self) -> None:
        lines = ["generation,best_frechet_distance,best_kid,generation_best_frechet_distance"]
        lines += [",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row)
                  for row in self.history]
        write_atomic(self.folder / "gan_history.csv", ("\n".join(lines) + "\n").encode())
        plt = _pyplot()
        gens, best, kid, gen_best = (np.array(c, dtype=float) for c in zip(*self.history))
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=110)
        ax1.plot(gens, best, "o-", lw=2, label="best so far")
        ax1.plot(gens, gen_best, "s--", lw=1, alpha=0.7, label="best of the generation")
        if self.floor is None:
            self.floor = self.problem.reference_distance()
        ax1.axhline(self.floor, color="gray", ls=":", label="real training images")
        if self.floor > 0 and np.all(best > 0):
            ax1.set_yscale("log")  # early generations are often 10-100x worse than late ones
        ax1.set_title("Fréchet distance (lower is better)")
        ax2.plot(gens, kid, "o-", lw=2, color="tab:green")
        ax2.set_title("KID of the best so far")
        from matplotlib.ticker import MaxNLocator

        for ax in (ax1, ax2):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("generation")
            ax.grid(alpha=0.3)
        ax1.legend()
        fig.tight_layout()
        _save(fig, self.folder / "gan_measures.png")
