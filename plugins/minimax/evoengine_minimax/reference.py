"""The search of :mod:`evoengine_minimax.search`, in plain Python, on any :class:`Game`.

It is the engine for users' own Python games, and the peer of the compiled search in the
benchmarks: on a game whose Python rules list moves in the same order, score features the
same and hash positions the same (see :mod:`evoengine_minimax.pygames`), it visits exactly the
same tree, so the two node rates compare like for like.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from evoengine_minimax.search import EXACT, LOWER, MATE_ZONE, UPPER, WIN


@dataclass
class PySearcher:
    """One player's search state: weights and a fixed-size transposition table (buckets of
    two slots, replaced as the compiled search does)."""

    weights: list[float]
    tt_bits: int = 16
    nodes: int = 0
    table: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.table = [None] * (1 << max(self.tt_bits, 1))
        self._mask = len(self.table) - 1

    def _slot(self, game):
        key = game.key() if hasattr(game, "key") else None
        if key is None:
            return None, None
        return (key if isinstance(key, int) else hash(key)) & self._mask & ~1, key

    def _evaluate(self, game, root):
        v = 0.0
        for w, f in zip(self.weights, game.features(root), strict=True):
            v += w * f
        return v if game.to_move == root else -v

    def negamax(self, game, ply, depth, alpha, beta, root):
        """Value of ``game`` for its side to move (fail-soft, mate scores by distance)."""
        self.nodes += 1
        if self._stop():
            raise _Stop
        moves = list(game.legal_moves())
        if not moves:
            result = game.result()
            if result == 2:
                return 0.0
            return WIN - ply if result == game.to_move else -(WIN - ply)
        result = game.result()
        if result is not None:
            if result == 2:
                return 0.0
            return WIN - ply if result == game.to_move else -(WIN - ply)
        if depth <= 0:
            self.horizon += 1
            return self._evaluate(game, root)
        slot, key = self._slot(game)
        entry = self._entry(slot, key)
        if entry is not None:
            _, d, flag, value, hint = entry
            if d >= depth:
                v = value - ply if value > MATE_ZONE else (value + ply if value < -MATE_ZONE
                                                          else value)
                if flag == EXACT or (flag == LOWER and v >= beta) or (flag == UPPER and v <= alpha):
                    if abs(v) <= MATE_ZONE:
                        self.horizon += 1
                    return v
            if hint in moves:  # swap, exactly as the compiled search does
                i = moves.index(hint)
                moves[0], moves[i] = moves[i], moves[0]
        alpha0, best, best_move = alpha, float("-inf"), moves[0]
        for move in moves:
            v = self._child_value(game, game.play(move), ply + 1, depth - 1, alpha, beta, root)
            if v > best:
                best, best_move = v, move
            alpha = max(alpha, v)
            if alpha >= beta:
                break
        if slot is not None:
            flag = UPPER if best <= alpha0 else (LOWER if best >= beta else EXACT)
            stored = best + ply if best > MATE_ZONE else (best - ply if best < -MATE_ZONE
                                                         else best)
            self._put(slot, (key, min(depth, 255), flag, stored, best_move))
        return best

    def _entry(self, bucket, key):
        """The entry of ``key`` in its bucket of two slots, or None."""
        if bucket is None:
            return None
        for entry in self.table[bucket:bucket + 2]:
            if entry is not None and entry[0] == key:
                return entry
        return None

    def _put(self, bucket, entry):
        """The compiled search's replacement: the first slot keeps the deepest result (same
        position, or at least as deep, replaces it), the second takes the others."""
        first = self.table[bucket]
        if first is None or first[0] == entry[0] or entry[1] >= first[1]:
            self.table[bucket] = entry
        else:
            self.table[bucket + 1] = entry

    def _child_value(self, game, child, ply, depth, alpha, beta, root):
        """``child``'s value for ``game``'s side to move: negated when the turn passes, as is
        when the same player moves again (OpenSpiel games may let a player move twice)."""
        if child.to_move == game.to_move:
            return self.negamax(child, ply, depth, alpha, beta, root)
        return -self.negamax(child, ply, depth, -beta, -alpha, root)

    def _stop(self) -> bool:
        if not self._stoppable:
            return False
        if self._budget and self.nodes >= self._budget:
            return True
        return bool(self._deadline) and (self.nodes & 1023) == 0 and \
            time.perf_counter() >= self._deadline

    def search(self, game, max_depth: int, node_budget: int = 0, time_s: float = 0.0):
        """Best move by iterative deepening: ``(move, value, depth_completed, nodes)``, the
        move None when the game is over. Limits as in the compiled search."""
        self.nodes, self._budget, self._stoppable = 0, node_budget, False
        self._deadline = time.perf_counter() + time_s if time_s > 0 else 0.0
        moves = list(game.legal_moves())
        if not moves or game.result() is not None:
            return None, 0.0, 0, 0
        if len(moves) == 1:
            return moves[0], 0.0, 0, 0
        root = game.to_move
        best_move, best_value, completed = moves[0], 0.0, 0
        for depth in range(1, max_depth + 1):
            self._stoppable, self.horizon = depth > 1, 0
            alpha, scores = float("-inf"), []
            it_move, it_value = moves[0], float("-inf")
            try:
                for move in moves:
                    v = self._child_value(game, game.play(move), 1, depth - 1, alpha,
                                          float("inf"), root)
                    scores.append(v)
                    if v > it_value:
                        it_move, it_value = move, v
                    alpha = max(alpha, v)
            except _Stop:
                break
            best_move, best_value, completed = it_move, it_value, depth
            order = sorted(range(len(moves)), key=lambda i: -scores[i])
            moves = [moves[i] for i in order]
            if abs(best_value) > MATE_ZONE or self.horizon == 0:
                break
        return best_move, best_value, completed, self.nodes


class _Stop(Exception):
    """The node budget or the clock ran out inside an iteration."""
