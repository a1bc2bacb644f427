"""The ``gan`` problem's settings: one flat namespace with the algorithm's (evoengine.config)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class GanSettings(BaseModel):
    """Data, budget, device and search space of the ``gan`` problem."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field("digits", description="'digits' (embedded), a PNG folder, .npz or IDX file")
    data_labels: str | None = Field(None, description="IDX labels file for an IDX image file")
    data_limit: int | None = Field(None, ge=4, description="use at most this many images")
    held_out_fraction: float = Field(0.3, gt=0.0, lt=1.0,
                                     description="share of images kept to measure generators")
    space: dict[str, Any] = Field(
        default_factory=dict,
        description="narrow or fix genes: {lr_g=[1e-4, 1e-3], loss='hinge', latent=[32, 64]}")
    budget: int = Field(6400, ge=1, description="examples per evaluation; every D or G update "
                        "on a batch of B examples spends B")
    samples: int = Field(500, ge=10, description="images generated to measure a generator")
    device: str = Field("auto", description="auto (every CUDA device, else the CPU), cpu, "
                        "cuda (every CUDA device), cuda:N, or a list: cuda:0,cuda:1 (one "
                        "group of configurations per device at a time)")
    mixed_precision: bool = Field(True, description="bfloat16 autocast on CUDA (ignored on CPU)")
    cpu_threads: int = Field(1, ge=1, description="torch threads on the CPU; tiny networks "
                             "run fastest on one")
    batched: bool = Field(True, description="train same-shaped configurations as one model")
    max_group: int = Field(64, ge=1, description="most configurations trained as one model")
    second_objective: Literal["none", "parameters", "time"] = Field(
        "none", description="a second objective to minimize (use algorithm='nsga2')")
    scheme: Literal["evolve", "pbt"] = Field(
        "evolve", description="evolve: each configuration trained from scratch for 'budget' "
        "examples, the best found by evolution; pbt: population-based training, members "
        "train side by side and the worst copy the best every 'interval' examples")
    interval: int = Field(2000, ge=1, description="pbt: examples each member trains between "
                          "two measures (and exploits)")
    exploit_fraction: float = Field(0.25, gt=0.0, le=0.5, description="pbt: the bottom share "
                                    "of members that copy a member of the top share")
    resample_probability: float = Field(0.25, ge=0.0, le=1.0, description="pbt: chance that "
                                        "an explored gene is drawn again instead of x0.8/x1.2")
    resample_width: float = Field(1.0, gt=0.0, le=1.0, description="pbt: how far a resample "
                                  "may move a gene, as a share of its range either way (on its "
                                  "own scale: 0.2 is a factor of 4 for a learning rate); 1 "
                                  "draws from the whole range")
    exploit_margin: float = Field(0.2, ge=0.0, description="pbt: a bottom member copies a "
                                  "top one only when the top's measure is better by more than "
                                  "this share of its own (0.2: a FD 20% lower); 0 always copies")
    explore_kept: bool = Field(True, description="pbt: a bottom member that does not copy "
                               "(exploit_margin) still perturbs its own hyperparameters, on "
                               "its own weights")
    ready: int = Field(1, ge=1, description="pbt: intervals a member trains after copying "
                       "another before it may be copied or replaced again")
    retire: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [16], description="pbt: intervals (counted from 1, in "
        "increasing order) after which the worse half of the members still training retire, "
        "so the rest train longer on the same total examples ([16]: 4 members for 16 "
        "intervals, then 2); [] keeps every member")
    start_spread: float = Field(0.7, ge=0.0, le=1.0, description="pbt: how far the first "
                                "members lie from the articles' configuration: 0 all at it, 1 "
                                "uniform over the space")
    training_seed: int = Field(0, description="seeds the data split, classifier and training")
    classifier_steps: int = Field(1000, ge=1, description="training steps of the feature "
                                  "classifier")

    @field_validator("retire")
    @classmethod
    def _increasing(cls, retire: list[int]) -> list[int]:
        if any(b <= a for a, b in zip(retire, retire[1:])):
            raise ValueError("retirement points must increase, each once")
        return retire
