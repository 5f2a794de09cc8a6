"""The neutral vocabulary every layer shares; it imports nothing else of tunebench.

- :mod:`~tunebench.core.space` — the framework-neutral search space;
- :mod:`~tunebench.core.budget` — budgets in trials, epochs or seconds, and the ledger;
- :mod:`~tunebench.core.tables` — the trial table, the contract between tuning and analysis;
- :mod:`~tunebench.core.config` — loading and validating an experiment config;
- :mod:`~tunebench.core.matrix` — the experiment matrix (task × optimizer × budget × seed);
- :mod:`~tunebench.core.outputs` — the names of the analysis outputs;
- :mod:`~tunebench.core.files` — atomic file writes.
"""
