"""The operator's overview: what happened today, what comes next, how the worker keeps up."""
