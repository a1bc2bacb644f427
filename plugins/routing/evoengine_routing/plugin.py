"""The routing plugin's hooks and settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

import evoengine
from evoengine_routing.problem import TravellingSalesman
from evoengine_routing.tsplib import BUNDLED, load


class TSPSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance: str = Field("berlin52", description=f"bundled ({', '.join(BUNDLED)}) or a .tsp path")


def build_tsp(settings: TSPSettings) -> TravellingSalesman:
    return TravellingSalesman(load(settings.instance))


@evoengine.hookimpl
def evoengine_register_problems(registry):
    registry.add("tsp", build_tsp, settings=TSPSettings,
                 summary="travelling salesman on a TSPLIB EUC_2D instance (berlin52 shipped)")
