"""The ``classifier`` problem's settings (no torch import: read when the plugins load)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ClassifierSettings(BaseModel):
    """The ``classifier`` problem's settings."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["pbt", "evolve"] = Field("pbt", description="pbt: population-based "
                                             "training; evolve: each setting trained from "
                                             "scratch for 'budget' examples")
    hidden: int = Field(32, ge=1, description="hidden units")
    batch_size: int = Field(32, ge=1, description="examples per update")
    interval: int = Field(1000, ge=1, description="pbt: examples between two measures")
    budget: int = Field(8000, ge=1, description="evolve: examples per evaluation")
    exploit_fraction: float = Field(0.25, gt=0.0, le=0.5)
    resample_probability: float = Field(0.25, ge=0.0, le=1.0)
    space: dict[str, Any] = Field(default_factory=dict, description="narrow or fix genes: "
                                  "{lr=[1e-3, 1e-2], label_smoothing=0}")
    batched: bool = Field(True, description="train the population as one model (false: "
                          "member by member, the path for models that cannot be stacked)")
    device: str = Field("cpu", description="cpu, cuda or cuda:N")
    training_seed: int = Field(0, description="seeds the split and, with evolve, training")
