"""The gan plugin's hooks."""

from __future__ import annotations

import evoengine
from evoengine_gan.settings import GanSettings


def build_gan(settings: GanSettings):
    from evoengine_gan.problem import GanProblem  # torch is imported only when a run needs it

    return GanProblem(settings)


def build_classifier(settings):
    from evoengine_gan.classifier import ClassifierProblem

    return ClassifierProblem(settings)


@evoengine.hookimpl
def evoengine_register_problems(registry):
    from evoengine_gan.classifier_settings import ClassifierSettings

    registry.add("gan", build_gan, settings=GanSettings,
                 summary="evolve GAN hyperparameters (PyTorch; digits by default, CUDA if any)")
    registry.add("classifier", build_classifier, settings=ClassifierSettings,
                 summary="population-based training of a digits classifier (the PBT example "
                 "that is not a GAN)")


@evoengine.hookimpl
def evoengine_add_commands(cli):
    from evoengine_gan.train_command import gan_train

    cli.add_command(gan_train)


def _is_gan_run(run) -> bool:
    # By module name: a run of another plugin must not import torch here.
    return run.folder is not None and type(run.problem).__module__ == "evoengine_gan.problem"


@evoengine.hookimpl
def evoengine_run_start(run):
    """The feature classifier is kept in the run folder (a resumed run reads it back)."""
    if _is_gan_run(run):
        run.problem.use_cache_folder(run.folder)


@evoengine.hookimpl
def evoengine_generation_end(run, record):
    """Sample grids, curves and the best configuration (evolve), or the PBT history,
    lineage and schedules (pbt), rewritten from the run's records."""
    if not _is_gan_run(run):
        return
    if run.problem.settings.scheme == "pbt":
        from evoengine_gan.pbt_report import write_interval

        write_interval(run, record)
    else:
        from evoengine_gan.output import write_generation

        write_generation(run, record)


@evoengine.hookimpl
def evoengine_run_end(run, result):
    """PBT's final plots, and where the winner's generator is."""
    if not _is_gan_run(run) or run.problem.settings.scheme != "pbt":
        return None
    from evoengine_gan.pbt_report import closing_lines, write_interval

    write_interval(run, None, final=True)
    return closing_lines(run.folder)
