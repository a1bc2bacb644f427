"""The closing report of a tuning run: honest statistics, a table, a picture, the heuristic.

1. The finalists (the run's best candidates) and the starting heuristic play the reference panel
   again on fresh openings (never used in training), and the finalists race on
   (:mod:`evoengine_minimax.racing`: those whose interval overlaps the leader's play more rounds
   of ``report_pairs``); the race's winner is the tuned heuristic. Elo against each member
   with a 95% interval; a candidate whose score difference from the winner (on the pairs both
   played) has an interval containing 0 is marked "within noise".
2. Validation: the best against the start, in batches of pairs until the SPRT decides
   (H1: better by ``elo1``; H0: not) or the pair budget runs out.
3. Null test: the best against itself, each game on its own opening and colours alternating
   (paired openings would make every pair of identical players score exactly 1/2); the
   interval must contain 0, or the harness is biased.

Files: ``report.md``, ``report.json``, ``tuned_heuristic.json``, ``generations.png``.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from evoengine.io import write_atomic
from evoengine_minimax import elo, racing
from evoengine_minimax.heuristic import save_heuristic
from evoengine_minimax.tuning import REPORT_BLOCK, History, TuningProblem


def final_candidates(problem: TuningProblem, best: np.ndarray, history: History,
                     count: int = 8) -> list[np.ndarray]:
    """The run's best, the next best distinct genomes of the whole run (by their training
    fitness), and the start last."""
    out = [np.asarray(best, float)]
    if history.genomes:
        genomes = np.vstack(history.genomes)
        fitness = np.concatenate(history.fitness)
        for i in np.argsort(-fitness, kind="stable"):
            if len(out) >= count:
                break
            if not any(np.allclose(genomes[i], g) for g in out):
                out.append(genomes[i])
    out = [g for g in out if not np.allclose(g, problem.start)] + [problem.start]
    return out


def article_best(history: History) -> np.ndarray:
    return np.median(history.genomes[-1], axis=0)


def write_report(problem: TuningProblem, folder: Path, best_genome: np.ndarray,
                 history: History, *,
                 report_pairs: int, sprt_max_pairs: int, null_pairs: int,
                 sprt: elo.SPRT, game: str, size: int | None, finalists: int = 8) -> list[str]:
    """Run the closing matches, write the files, return the lines to print."""
    folder = Path(folder)
    if problem.scheme == "article" and history.genomes:
        best_genome = article_best(history)
    space = problem.space
    candidates = final_candidates(problem, best_genome, history, finalists)
    genomes = [dict(zip(space.gene_names(), np.round(g, 4).tolist(), strict=True))
               for g in candidates]
    summary, lead = closing_matches(problem, space.full(np.array(candidates)), genomes,
                                    report_pairs=report_pairs, sprt_max_pairs=sprt_max_pairs,
                                    null_pairs=null_pairs, sprt=sprt, game=game, size=size)
    described = space.describe(candidates[lead])
    write_atomic(folder / "tuned_heuristic.json", save_heuristic(
        game, size, described["weights"],
        {"heuristic": described,
         "validation_elo_vs_start": rating_of(summary["validation"]).text()}))
    write_summary(folder, summary)
    plot_generations(problem, history, folder / "generations.png")
    return terminal_lines(summary, "best heuristic: " + ", ".join(
        f"{k} {v:+.3g}" for k, v in described["weights"].items()))


def final_race(problem, rows: np.ndarray, report_pairs: int, max_rounds: int | None = None
               ) -> tuple[list[np.ndarray], int]:
    """The finalists ``rows`` (the start last) against the panel on fresh openings: every row
    plays ``report_pairs`` pairs per member, then the finalists but the start race on
    (:func:`evoengine_minimax.racing.race`, at most ``max_rounds`` more rounds). Returns each
    row's pair scores (panel members x pairs) and the index of the winner."""
    block = REPORT_BLOCK // report_pairs
    first = problem.panel_pairs(rows, block, report_pairs)
    if len(rows) == 1:
        return [first[0]], 0

    def play(chosen: np.ndarray, round_number: int) -> np.ndarray:
        return problem.panel_pairs(rows[chosen], block + round_number, report_pairs)

    raced = racing.race(first[:-1], play, max_rounds)
    return raced.scores + [first[-1]], raced.leader


def closing_matches(problem, rows: np.ndarray, genomes: list[dict], *, report_pairs: int,
                    sprt_max_pairs: int, null_pairs: int, sprt: elo.SPRT, game: str,
                    size: int | None) -> tuple[dict, int]:
    """The report's matches for candidate heuristic ``rows`` (the start last), shown as
    ``genomes``: returns the summary (candidates best first) and the index of the best, the
    winner of the candidates' race (the start plays the first round only, and leads only when
    nothing else is left)."""
    pairs, lead = final_race(problem, rows, report_pairs)
    order = [lead] + [i for i in range(len(rows)) if i != lead]
    table = []
    for rank, i in enumerate(order):
        label = ("best" if rank == 0 else ("start" if i == len(rows) - 1
                                            else f"runner-up {rank}"))
        common = min(pairs[i].shape[-1], pairs[lead].shape[-1])  # the openings both played
        diff = elo.rate_difference(pairs[i][:, :common].ravel(),
                                   pairs[lead][:, :common].ravel())
        table.append({
            "candidate": label,
            "genome": genomes[i],
            "vs_panel": asdict(elo.rate(pairs[i].ravel())),
            "vs_each": [{"opponent": name, **asdict(elo.rate(pairs[i][j]))}
                        for j, name in enumerate(problem.panel.names)],
            "within_noise_of_best": bool(rank > 0 and diff[1] <= 0.0 <= diff[2]),
        })

    # Validation: best vs start with an SPRT stop, on openings after the report's.
    block0 = 2 * REPORT_BLOCK // 32
    scores: list[float] = []
    decision = None
    best_w, start_w = rows[lead], rows[-1]
    while decision is None and len(scores) < sprt_max_pairs:
        batch = min(32, sprt_max_pairs - len(scores))
        scores.extend(problem.head_to_head(best_w, start_w, block0 + len(scores) // 32, batch))
        decision = sprt.decide(np.array(scores))
    validation = elo.rate(np.array(scores))
    null = elo.rate(problem.self_play(best_w, 3 * REPORT_BLOCK, 2 * null_pairs))
    verdict = {"H1": f"best is stronger than the start (SPRT accepted elo >= {sprt.elo1:g})",
               "H0": f"best is NOT shown stronger than the start (SPRT accepted elo <= "
                     f"{sprt.elo0:g})",
               None: "SPRT undecided within the pair budget"}[decision]
    summary = {
        "game": game, "size": size, "scheme": problem.scheme,
        "search": asdict(problem.limits), "reproducible": problem.limits.reproducible,
        "panel": problem.panel.names, "candidates": table,
        "validation": {"decision": decision, "verdict": verdict,
                       "llr": sprt.llr(np.array(scores)), "bounds": sprt.bounds,
                       "elo0": sprt.elo0, "elo1": sprt.elo1, **asdict(validation)},
        "null_test": {**asdict(null), "games_played": null.pairs, "passed": null.within_noise()},
    }
    return summary, lead


def write_summary(folder: Path, summary: dict) -> None:
    """``report.json`` and ``report.md``."""
    write_atomic(Path(folder) / "report.json", (json.dumps(summary, indent=2) + "\n").encode())
    lines = _markdown(summary)
    write_atomic(Path(folder) / "report.md", ("\n".join(lines) + "\n").encode())


def terminal_lines(summary: dict, best_line: str) -> list[str]:
    """A short form of the report for the terminal (the full table is in report.md)."""
    out = [f"Elo against the panel ({', '.join(summary['panel'])}), fresh openings, 95% CI:"]
    for row in summary["candidates"]:
        r = elo.Rating(**row["vs_panel"])
        note = "  (within noise of best)" if row["within_noise_of_best"] else ""
        out.append(f"  {row['candidate']:<12} {r.text():<18} {r.games} games{note}")
    out.append(best_line)
    out += _markdown(summary)[-2:]
    return out


def _markdown(summary: dict) -> list[str]:
    panel = summary["panel"]
    lines = [f"# Tuning report: {summary['game']} ({summary['scheme']} scheme)", ""]
    if not summary["reproducible"]:
        lines.append("**Time-limited search: these games are not reproducible.**")
    lines.append("| candidate | genome | Elo vs panel [95% CI] | "
                 + " | ".join(f"vs {p}" for p in panel) + " | games | note |")
    lines.append("|" + "---|" * (5 + len(panel)))
    for row in summary["candidates"]:
        r = elo.Rating(**row["vs_panel"])
        each = " | ".join(rating_of(match).text() for match in row["vs_each"])
        genome = ", ".join(f"{k}={v:g}" if isinstance(v, float | int) else f"{k}: {v}"
                           for k, v in row["genome"].items())
        note = "within noise of best" if row["within_noise_of_best"] else ""
        lines.append(f"| {row['candidate']} | {genome} | {r.text()} | {each} | {r.games} | "
                     f"{note} |")
    v, n = summary["validation"], summary["null_test"]
    bounds = tuple(round(b, 2) for b in v["bounds"])
    null = "passed (contains 0)" if n["passed"] else "FAILED: the interval excludes 0"
    lines += ["",
              f"Validation, best vs start: Elo {rating_of(v).text()} over {2 * v['pairs']} games; "
              f"LLR {v['llr']:.2f} in {bounds}: {v['verdict']}.",
              f"Null test, best vs itself: Elo {rating_of(n).text()} over {n['games_played']} "
              f"games: {null}."]
    return lines


def rating_of(record: dict) -> elo.Rating:
    return elo.Rating(**{k: record[k] for k in ("score", "elo", "low", "high", "pairs")})


def plot_generations(problem: TuningProblem, history: History, path: Path) -> None:
    """Weights (median and quartiles per gene) and fitness across generations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = history
    if not hist.genomes:
        return
    gens = np.arange(len(hist.genomes))
    names = problem.space.gene_names()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4), dpi=110)
    for j, name in enumerate(names):
        q = np.array([np.percentile(g[:, j], [25, 50, 75]) for g in hist.genomes])
        line, = ax1.plot(gens, q[:, 1], lw=2, label=name)
        ax1.fill_between(gens, q[:, 0], q[:, 2], color=line.get_color(), alpha=0.2)
    ax1.set_xlabel("generation")
    ax1.set_ylabel("weight (median, quartiles)")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fit = [np.asarray(f) for f in hist.fitness]
    ax2.plot(gens, [f.max() for f in fit], lw=2, label="best")
    ax2.plot(gens, [np.median(f) for f in fit], lw=1, label="median")
    ax2.set_xlabel("generation")
    ax2.set_ylabel("Elo vs panel" if problem.scheme == "rated" else "article tally")
    ax2.grid(alpha=0.3)
    ax2.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(path, buf.getvalue())
