"""The tiny GAN run the gan tests share: small networks, 120 images, a short classifier, a few
updates, on the device ``EVOENGINE_TEST_DEVICE`` names (the CPU unless set)."""

import os

DEVICE = os.environ.get("EVOENGINE_TEST_DEVICE", "cpu")
TINY_SPACE = {"architecture": "mlp", "latent": 16, "g_width": 32, "d_width": 32,
              "g_depth": 1, "d_depth": 1, "batch_size": 16, "d_steps": 1, "g_steps": 1,
              "batch_norm": False}
TINY = {"data_limit": 120, "held_out_fraction": 0.5, "budget": 96, "samples": 40,
        "classifier_steps": 60, "device": DEVICE, "space": TINY_SPACE}


def tiny_problem(**changes):
    """A GanProblem of the tiny settings with ``changes`` (torch must be importable)."""
    from evoengine.config import validate
    from evoengine_gan.problem import GanProblem
    from evoengine_gan.settings import GanSettings

    return GanProblem(validate(GanSettings, {**TINY, **changes}))
