"""``evoengine gan-train CONFIG.toml``: train one configuration longer and save its generator.

CONFIG is a ``best_gan.toml`` from a run folder (or any settings file whose ``space`` fixes every
gene). The output folder receives ``generator.pt`` (a ``state_dict``), ``generator.json`` (what
rebuilds the network), ``samples.png`` and the measures.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from evoengine import config
from evoengine.errors import ConfigError


@click.command("gan-train")
@click.argument("config_file", type=click.Path(dir_okay=False))
@click.option("--budget", type=click.IntRange(min=1),
              help="Examples to train on (default: ten times the file's budget).")
@click.option("-s", "--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override a gan setting (device=cuda, training_seed=3, ...).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Folder for the generator (default: gan-train-<time> beside CONFIG_FILE).")
def gan_train(config_file: str, budget: int | None, assignments: tuple[str, ...],
              out_dir: str | None) -> None:
    """Train the GAN configuration in CONFIG_FILE longer and save its generator."""
    from datetime import datetime

    from rich.console import Console

    from evoengine_gan.settings import GanSettings

    console = Console(stderr=True)
    values = config.read_toml(config_file)
    values.update(config.parse_assignments(assignments))
    gan_values, _ = config.split_settings(values, GanSettings)  # algorithm keys play no part
    settings = config.validate(GanSettings, gan_values)
    settings.budget = budget or 10 * settings.budget
    here = Path(config_file).resolve().parent
    out = Path(out_dir) if out_dir else here / f"gan-train-{datetime.now():%Y%m%d-%H%M%S}"
    result = train_and_save(settings, out, cache=here, console=console)
    click.echo(f"Fréchet distance {result['frechet_distance']:.4g}, KID {result['kid']:.4g} "
               f"after {settings.budget} examples ({result['train_seconds']:.1f} s)")
    click.echo(f"generator: {out / 'generator.pt'}")


def train_and_save(settings, out: Path, *, cache: Path | None = None, console=None) -> dict:
    """Train the fully fixed configuration of ``settings`` and write the output folder."""
    import torch

    from evoengine.io import write_atomic
    from evoengine_gan.output import sample_grid
    from evoengine_gan.problem import GanProblem, member_seed
    from evoengine_gan.training import Member, train_generator

    problem = GanProblem(settings)
    missing = [g.name for g in problem.space.genes if g.name not in problem.space.fixed()]
    if missing:
        raise ConfigError(f"setting 'space': gan-train needs every gene fixed; not fixed: "
                          f"{', '.join(missing)} (use a best_gan.toml from a run folder)")
    if console is not None:
        console.print(f"note: {problem.notes[0]}", highlight=False)
    if cache is not None:
        problem.use_cache_folder(cache)
    cfg = problem.space.fixed()
    genome = problem.space.encode(cfg)
    generator, trained = train_generator(Member(cfg, member_seed(settings.training_seed, genome)),
                                         problem.setup())
    measures = problem.measure(trained)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(generator.state_dict(), out / "generator.pt")
    result = {"config": cfg, "image_shape": list(problem.data.shape), "budget": settings.budget,
              "frechet_distance": measures.frechet, "kid": measures.kid,
              "parameters": measures.parameters, "train_seconds": measures.seconds,
              "device": str(problem.device)}
    write_atomic(out / "generator.json", (json.dumps(result, indent=2) + "\n").encode())
    if measures.samples is not None:
        sample_grid(measures.samples, out / "samples.png",
                    f"FD {measures.frechet:.3g}, KID {measures.kid:.3g}")
    return result


def load_generator(folder: str | Path):
    """The generator a ``gan-train`` folder saved, ready to sample (``G(z)``, z ~ N(0, 1))."""
    import torch

    from evoengine_gan.models import build_networks

    folder = Path(folder)
    info = json.loads((folder / "generator.json").read_text())
    generator, _ = build_networks(info["config"], tuple(info["image_shape"]))
    generator.load_state_dict(torch.load(folder / "generator.pt", weights_only=True))
    return generator.eval()
