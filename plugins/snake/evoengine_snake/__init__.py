"""evoengine plugin: Snake played by a fixed sequence of moves, as in "Genetic Algorithms:
Semantic Codes" (the genome is the game's decisions: left, right or straight at each step)."""
