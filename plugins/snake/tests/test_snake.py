"""The snake plugin: the compiled game against a plain Python one, the problem, a CLI run."""

import json
from collections import deque

import numpy as np
import pytest
from click.testing import CliRunner

from evoengine import EvaluationContext
from evoengine.cli import main
from evoengine.config import AlgorithmSettings
from evoengine.run import optimize
from evoengine_snake.game import food_draws, play
from evoengine_snake.problem import Snake


class Game:
    """One game, written as plainly as possible."""

    HEADINGS = [(0, 1), (1, 0), (0, -1), (-1, 0)]  # right, down, left, up (clockwise)

    def __init__(self, width, height, draws):
        self.width, self.height, self.draws = width, height, draws
        row, col = height // 2, width // 2
        self.body = deque([(row, col - 2), (row, col - 1), (row, col)])  # tail ... head
        self.heading, self.eaten, self.steps, self.over = 0, 0, 0, False
        self.food = self.place(draws[0])

    def place(self, u):
        free = [(r, c) for r in range(self.height) for c in range(self.width)
                if (r, c) not in self.body]
        return free[min(int(u * len(free)), len(free) - 1)]

    def step(self, move):
        """Play one move; False once the game is over."""
        if self.over:
            return False
        self.heading = {0: (self.heading - 1) % 4, 1: (self.heading + 1) % 4,
                        2: self.heading}[int(move)]
        row = self.body[-1][0] + self.HEADINGS[self.heading][0]
        col = self.body[-1][1] + self.HEADINGS[self.heading][1]
        if not (0 <= row < self.height and 0 <= col < self.width):
            self.over = True
            return False
        grows = (row, col) == self.food
        if not grows:
            self.body.popleft()
        if (row, col) in self.body:
            self.over = True
            return False
        self.body.append((row, col))
        self.steps += 1
        if grows:
            self.eaten += 1
            if len(self.body) == self.width * self.height:
                self.over = True
                return False
            self.food = self.place(self.draws[self.eaten])
        return True


def reference_play(moves, width, height, draws):
    """(food eaten, steps survived) of one sequence."""
    game = Game(width, height, draws)
    for move in moves:
        if not game.step(move):
            break
    return game.eaten, game.steps


def greedy_moves(width, height, draws, length, rng, mistakes=0.05):
    """A sequence that mostly heads for the food without dying, sometimes moving at random:
    games that eat a lot and end against the body as well as the wall."""
    game, moves = Game(width, height, draws), []
    for _ in range(length):
        options = []
        for move in rng.permutation(3):
            trial = Game.__new__(Game)
            trial.__dict__ = {**game.__dict__, "body": deque(game.body)}
            if trial.step(move) or trial.eaten > game.eaten:
                head = trial.body[-1]
                options.append((abs(head[0] - game.food[0]) + abs(head[1] - game.food[1]),
                                int(move)))
        move = min(options)[1] if options and rng.random() > mistakes else int(rng.integers(3))
        moves.append(move)
        if not game.step(move):
            break
    return moves + rng.integers(0, 3, length - len(moves)).tolist()


@pytest.mark.parametrize("width, height", [(10, 10), (6, 4), (4, 2), (13, 7)])
def test_kernel_matches_the_python_game(width, height):
    rng = np.random.default_rng(width * height)
    draws = food_draws(3, width, height)
    # Random sequences die early against the wall; greedy ones eat and then hit their body.
    moves = np.array([greedy_moves(width, height, draws, 120, rng) for _ in range(60)]
                     + rng.integers(0, 3, (60, 120)).tolist())
    food, steps = play(moves, width, height, draws)
    expected = [reference_play(m, width, height, draws) for m in moves]
    assert food.tolist() == [e[0] for e in expected]
    assert steps.tolist() == [e[1] for e in expected]
    assert food.max() >= min(5, width * height - 3)  # the games tested eat, some a lot


def test_a_loop_that_eats_everything_fills_the_board():
    # A Hamiltonian cycle on a 4 x 2 board eats all food: a sequence that circles forever.
    circle = [2, 1, 1, 2, 2, 1, 1, 2] * 20  # right along the top, back along the bottom
    food, steps = play(np.array([circle]), 4, 2, food_draws(0, 4, 2))
    assert (food[0], steps[0]) == reference_play(circle, 4, 2, food_draws(0, 4, 2))


def test_problem_scores_and_describes_a_game():
    problem = Snake(width=8, height=8, moves=50)
    straight = np.full((1, 50), 2)  # from the middle heading right: the wall after 3 steps
    evaluation = problem.evaluate(straight, EvaluationContext.standalone(1))
    assert evaluation.fitness[0, 0] == 3.0 and evaluation.info == [{"food": 0, "steps": 3}]
    described = problem.describe(straight[0], evaluation.info[0])
    assert described["steps"] == 3 and described["moves"] == ["straight"] * 4


def test_the_food_layout_is_the_runs_seed():
    problem = Snake(width=10, height=10, moves=120)
    rng = np.random.default_rng(0)
    genomes = np.array([greedy_moves(10, 10, food_draws(5, 10, 10), 120, rng)
                        for _ in range(10)])

    def scores(seed, rows):
        context = EvaluationContext(seed, generation=3, row_ids=np.arange(rows))
        return problem.evaluate(genomes[:rows], context).fitness[:, 0]

    expected = [100 * f + s for f, s in (reference_play(g, 10, 10, food_draws(5, 10, 10))
                                         for g in genomes)]
    assert scores(5, 10).tolist() == expected
    assert scores(5, 4).tolist() == expected[:4]  # whatever the batch
    assert scores(6, 10).tolist() != expected


def test_evolution_learns_to_eat():
    problem = Snake(width=8, height=8, moves=80)
    result = optimize(problem, AlgorithmSettings(population_size=60, generations=30, seed=1,
                                                 elitism=2))
    assert result.best_fitness[0] >= 200  # at least two foods
    assert set(result.best_genome.tolist()) <= {0, 1, 2}


def test_cli_run_writes_categorical_operators_into_config(tmp_path):
    result = CliRunner().invoke(main, ["run", "snake", "--set", "generations=3", "--set",
                                       "moves=40", "-q", "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.glob("snake-*")
    config = (folder / "config.toml").read_text()
    assert 'crossover = "two_point"' in config and 'mutation = "reset"' in config
    assert "gene_probability = 0.025" in config and "mutation_probability = 1.0" in config
    best = json.loads((folder / "best.json").read_text())
    assert set(best["solution"]["moves"]) <= {"left", "right", "straight"}
