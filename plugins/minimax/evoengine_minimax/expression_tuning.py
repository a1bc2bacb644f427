"""Evolve an evaluation expression over the game's features by GP, rated against the panel.

The same ``rated`` scheme as :class:`~evoengine_minimax.tuning.TuningProblem`: each tree plays
every panel member on ``pairs`` paired openings (block ``g`` in the context's generation ``g``)
and its fitness is its Elo against the panel. Each generation's trees (DEAP's text) and fitness
go to the run's records, which the closing report reads back (:func:`tree_history_of`). The trees are evolved by evoengine's GP engine
(:class:`evoengine.gp.TreeProblem`); the closing report is the weight tuner's, with the
expression in infix form.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evoengine import EvaluationContext, Objective, Summary
from evoengine.errors import ConfigError
from evoengine.gp import TreeProblem, Trees, parse_tree
from evoengine.io import write_atomic
from evoengine_minimax import elo
from evoengine_minimax.expression import (MAX_NODES, expression_rows, linear_rows,
                                          primitive_set)
from evoengine_minimax.heuristic import save_heuristic
from evoengine_minimax.match import Limits
from evoengine_minimax.report import rating_of, terminal_lines, closing_matches, write_summary
from evoengine_minimax.tuning import POPULATION_TABLE, Panel, PanelGames


@dataclass
class TreeHistory:
    """Every evaluated generation: its trees (DEAP's text), their sizes and fitness."""

    texts: list[list[str]] = field(default_factory=list)
    sizes: list[np.ndarray] = field(default_factory=list)
    fitness: list[np.ndarray] = field(default_factory=list)


def tree_history_of(recorder) -> TreeHistory:
    """The run's trees from its records (a resumed run's earlier generations included)."""
    history = TreeHistory()
    for _generation, rows in recorder.table(POPULATION_TABLE):
        history.texts.append([r["tree"] for r in rows])
        history.sizes.append(np.array([r["size"] for r in rows], float))
        history.fitness.append(np.array([r["fitness"] for r in rows], float))
    return history


class ExpressionProblem(PanelGames, TreeProblem):
    """GP over ``variables`` (some of ``arena``'s features) against a linear ``panel`` (its
    first member is the start, which the validation match plays)."""

    scheme = "rated"

    def __init__(self, arena, variables: tuple[str, ...], panel: Panel, *, limits: Limits,
                 pairs: int, seed: int, defaults=None, notes=(), report=None) -> None:
        super().__init__(primitive_set(variables),
                         objectives=(Objective("elo_vs_panel", "maximize"),),
                         defaults=defaults or {}, notes=tuple(notes), max_size=MAX_NODES)
        self.arena, self.limits, self.pairs, self.seed = arena, limits, pairs, seed
        self.game_features = tuple(arena.features)
        self.linear_panel = panel
        self.panel = Panel(panel.names, linear_rows(panel.weights))
        self.report = report

    def rows(self, trees: Trees) -> np.ndarray:
        """The trees as the search's heuristic rows."""
        return expression_rows(trees, self.game_features)

    def own_optimizer(self, settings, toolbox=None):
        """The engine's GP (None), once the settings are checked: the search holds trees of
        at most MAX_NODES nodes."""
        if (settings.max_size or MAX_NODES) > MAX_NODES:
            raise ConfigError(f"setting 'max_size': at most {MAX_NODES} for "
                              "heuristic=expression")


    def evaluate(self, trees: Trees, context: EvaluationContext | None = None) -> np.ndarray:
        block = 0 if context is None else context.generation
        pairs = self.panel_pairs(self.rows(trees), block)
        fitness = np.array([elo.elo_of_score(p.mean()) for p in pairs.reshape(len(trees), -1)])
        return fitness.reshape(-1, 1)

    def summarize(self, trees: Trees, evaluation, context) -> Summary:
        """Every tree of the generation (the closing report's history) and the curves."""
        fitness = np.asarray(evaluation.fitness, float)[:, 0]
        rows = [{"tree": trees.to_string(i), "size": int(trees.lengths[i]),
                 "fitness": float(fitness[i])} for i in range(len(trees))]
        return Summary(scalars={"best_fitness": float(np.max(fitness)),
                                "median_fitness": float(np.median(fitness)),
                                "median_size": float(np.median(trees.lengths))},
                       tables={POPULATION_TABLE: rows})

    def closing_report(self, folder, best_genome, history: TreeHistory) -> list[str]:
        """The report the plugin's ``evoengine_run_end`` hook writes; ``history`` comes from
        the run's records."""
        if self.report is None:
            return []
        return self.report(self, folder, best_genome, history)

    def candidates(self, best_genome, history: TreeHistory, count: int = 3) -> Trees:
        """The run's best tree, then the next best distinct trees of the whole run."""
        best = self.trees_of(best_genome)
        chosen = [best.tree(0)]
        texts = {best.to_string(0)}
        scored = [(f, text) for gen_texts, fit in zip(history.texts, history.fitness,
                                                      strict=True)
                  for text, f in zip(gen_texts, fit, strict=True)]
        for _f, text in sorted(scored, key=lambda x: -x[0]):
            if len(chosen) >= count:
                break
            if text not in texts:
                texts.add(text)
                chosen.append(parse_tree(self.primitives, text).tree(0))
        return Trees.from_nodes(self.primitives, chosen)


def write_expression_report(problem: ExpressionProblem, folder, best_genome,
                            history: TreeHistory, *,
                            report_pairs: int, sprt_max_pairs: int, null_pairs: int,
                            sprt: elo.SPRT, game: str, size: int | None) -> list[str]:
    """The closing report of an expression run: the best trees and the start re-rated on
    fresh openings, best vs start validated by SPRT, the null test; the files of
    :func:`evoengine_minimax.report.write_report`."""
    folder = Path(folder)
    trees = problem.candidates(best_genome, history)
    start = problem.linear_panel.weights[0]
    rows = np.vstack([problem.rows(trees), problem.panel.weights[:1]])
    genomes = [{"expression": trees.to_infix(i, digits=4)} for i in range(len(trees))]
    genomes.append({f: float(w) for f, w in zip(problem.game_features, start, strict=True)
                    if w != 0})
    summary, lead = closing_matches(problem, rows, genomes, report_pairs=report_pairs,
                                    sprt_max_pairs=sprt_max_pairs, null_pairs=null_pairs,
                                    sprt=sprt, game=game, size=size)
    if lead < len(trees):
        expression = {"tree": trees.to_string(lead), "infix": trees.to_infix(lead),
                      "size": int(trees.lengths[lead]),
                      "variables": list(problem.primitives.variables)}
        weights: dict[str, float] = {}
        best_line = f"best expression: {trees.to_infix(lead, digits=4)}"
    else:  # nothing evolved beat the start on fresh openings
        expression = None
        weights = genomes[-1]
        best_line = "best heuristic: the start, " + ", ".join(f"{k} {v:+.3g}"
                                                              for k, v in weights.items())
    extra = {"heuristic": {"heuristic": "expression" if expression else "weights"},
             "validation_elo_vs_start": rating_of(summary["validation"]).text()}
    if expression:
        extra["expression"] = expression
    write_atomic(folder / "tuned_heuristic.json", save_heuristic(game, size, weights, extra))
    write_summary(folder, summary)
    plot_expression_generations(history, folder / "generations.png")
    return terminal_lines(summary, best_line)


def plot_expression_generations(history: TreeHistory, path: Path) -> None:
    """Elo against the panel (best, median) and tree size (median, quartiles) per
    generation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = history
    if not hist.fitness:
        return
    gens = np.arange(len(hist.fitness))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    ax1.plot(gens, [f.max() for f in hist.fitness], lw=2, label="best")
    ax1.plot(gens, [np.median(f) for f in hist.fitness], lw=1, label="median")
    ax1.set_xlabel("generation")
    ax1.set_ylabel("Elo vs panel")
    ax1.grid(alpha=0.3)
    ax1.legend()
    q = np.array([np.percentile(sizes, [25, 50, 75]) for sizes in hist.sizes])
    ax2.plot(gens, q[:, 1], lw=2, label="median")
    ax2.fill_between(gens, q[:, 0], q[:, 2], alpha=0.2, label="quartiles")
    ax2.set_xlabel("generation")
    ax2.set_ylabel("tree size (nodes)")
    ax2.grid(alpha=0.3)
    ax2.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(path, buf.getvalue())
