"""The gan plugin's hooks."""

from __future__ import annotations

import evoengine
from evoengine_gan.settings import GanSettings


def build_gan(settings: GanSettings):
    from evoengine_gan.problem import GanProblem  # torch is imported only when a run needs it

    return GanProblem(settings)


@evoengine.hookimpl
def evoengine_register_problems(registry):
    registry.add("gan", build_gan, settings=GanSettings,
                 summary="evolve GAN hyperparameters (PyTorch; digits by default, CUDA if any)")


@evoengine.hookimpl
def evoengine_add_commands(cli):
    from evoengine_gan.train_command import gan_train

    cli.add_command(gan_train)
