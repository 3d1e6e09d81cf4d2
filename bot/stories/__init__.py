"""Story clustering as pure computation: features, average-link grouping, the planner.

Nothing in this package touches the store; :mod:`bot.clustering` runs the
planner against it.
"""
