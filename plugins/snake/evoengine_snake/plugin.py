"""The snake plugin's hooks and settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

import evoengine
from evoengine_snake.problem import Snake


class SnakeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    width: int = Field(10, ge=4, le=1000, description="board columns")
    height: int = Field(10, ge=2, le=1000, description="board rows")
    moves: int = Field(200, ge=1, description="length of the move sequence (the genome)")


def build_snake(settings: SnakeSettings) -> Snake:
    return Snake(settings.width, settings.height, settings.moves)


@evoengine.hookimpl
def evoengine_register_problems(registry):
    registry.add("snake", build_snake, settings=SnakeSettings,
                 summary="Snake played by an evolved sequence of left/right/straight moves")
