"""bench: training, evaluation and the paper's tables over a remix corpus."""
