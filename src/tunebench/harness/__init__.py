"""Running and recording trials; imports :mod:`tunebench.core` and :mod:`tunebench.tasks` only.

- :mod:`~tunebench.harness.trial` — one trial's evaluation (timeouts, failures, seeds);
- :mod:`~tunebench.harness.deadline` — the per-trial time cap;
- :mod:`~tunebench.harness.recorder` — the one door for trial results, with the resume journal;
- :mod:`~tunebench.harness.tracking` — MLflow: the experiment, a run per study and per trial;
- :mod:`~tunebench.harness.provenance` — versions, git commit and host of a run.
"""
