"""evoengine plugin: the travelling-salesman problem on TSPLIB instances."""
