"""Reaching a node and working on it, below the providers that make nodes and the commands
that drive them: opening its transport (reach), whether it answers (health), what it is
(facts), and running the suites there (staging, suites)."""
