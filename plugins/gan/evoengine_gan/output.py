"""What a ``gan`` run leaves in its run folder, generation by generation.

- ``samples/gen-NNN.png``: a grid of images from the best configuration so far;
- ``gan_measures.png`` and ``gan_history.csv``: Fréchet distance and KID across generations;
- ``best_gan.toml``: the best configuration with every gene fixed, which both
  ``evoengine run gan -c best_gan.toml`` and ``evoengine gan-train best_gan.toml`` read;
- ``feature_net.pt``: the feature classifier (see :mod:`evoengine_gan.features`).

Each file is rewritten after every generation by the plugin's ``evoengine_generation_end``
hook, from what the evaluations sent back (:meth:`GanProblem.summarize`'s ``best`` table, kept
by the engine's recorder and checkpoints), so an interrupted run keeps its pictures and every
backend writes the same files.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from evoengine.io import write_atomic
from evoengine_gan.problem import GanProblem, grid_canvas

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
    fig, ax = plt.subplots(figsize=(4, 4.3), dpi=110)
    ax.imshow(grid_canvas(images), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
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


def write_generation(run, record) -> None:
    """The run folder's GAN files after the generation of ``record``, from the run's records
    (the ``best`` table of every generation so far), so they are the same whichever backend
    evaluated and however often the run was resumed."""
    folder, problem = Path(run.folder), run.problem
    history = []  # generation, best FD so far, its KID, the generation's best FD
    best: dict[str, Any] | None = None
    best_generation = -1
    for generation, rows in run.recorder.table("best"):
        row = rows[0]
        if best is None or row["frechet_distance"] < best["frechet_distance"]:
            best, best_generation = row, generation
        history.append((generation, best["frechet_distance"], best["kid"],
                        row["frechet_distance"]))
    if best is None:
        return
    generation = record.generation
    grid = folder / "samples" / f"gen-{generation:03d}.png"
    if best_generation == generation and record.info:
        fds = np.array([i.get("frechet_distance", np.nan) for i in record.info], dtype=float)
        row = int(np.nanargmin(np.where(np.isfinite(fds), fds, np.nan)))
        config = best["config"]
        sample_grid(np.asarray(record.info[row]["samples"]), grid,
                    f"generation {generation}: FD {best['frechet_distance']:.3g}, KID "
                    f"{best['kid']:.3g}\n{config['architecture']}, {config['loss']}, lr_g "
                    f"{config['lr_g']:.2g}, lr_d {config['lr_d']:.2g}")
    else:  # the best so far is an earlier generation's: its picture again
        earlier = folder / "samples" / f"gen-{best_generation:03d}.png"
        if earlier.exists():
            write_atomic(grid, earlier.read_bytes())
    note = (f"FD {best['frechet_distance']:.4g}, KID {best['kid']:.4g}, generation "
            f"{best_generation}")
    write_atomic(folder / "best_gan.toml", best_config_toml(problem, best["config"], note).encode())
    _write_history(problem, folder, history)


def _write_history(problem: GanProblem, folder: Path, history: list[tuple]) -> None:
    lines = ["generation,best_frechet_distance,best_kid,generation_best_frechet_distance"]
    lines += [",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row)
              for row in history]
    write_atomic(folder / "gan_history.csv", ("\n".join(lines) + "\n").encode())
    plt = _pyplot()
    gens, best, kid, gen_best = (np.array(c, dtype=float) for c in zip(*history))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=110)
    ax1.plot(gens, best, "o-", lw=2, label="best so far")
    ax1.plot(gens, gen_best, "s--", lw=1, alpha=0.7, label="best of the generation")
    floor = problem.reference_distance()
    ax1.axhline(floor, color="gray", ls=":", label="real training images")
    if floor > 0 and np.all(best > 0):
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
    _save(fig, folder / "gan_measures.png")
