"""The Optuna adapter's resume state: its journal backend and the per-trial re-seeding."""

from __future__ import annotations

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from tunebench.frameworks._optuna_state import Reseeder, SingleWriterJournal
from tunebench.harness.trial import derive_seed

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _quadratic(trial: optuna.Trial) -> float:
    return (trial.suggest_float("x", -3, 3) - 1) ** 2


def _study_written(path, trials: int) -> optuna.Study:
    """Run ``trials`` trials of a study kept in ``path`` through the single-writer journal."""
    journal = SingleWriterJournal(path)
    storage = JournalStorage(journal)
    study = optuna.create_study(storage=storage, study_name="s", load_if_exists=True)
    study.optimize(_quadratic, n_trials=trials)
    journal.close()
    return study


def _read_back(path) -> optuna.Study:
    """The study in ``path`` as Optuna's own file backend reads it."""
    return optuna.load_study(study_name="s", storage=JournalStorage(JournalFileBackend(str(path))))


def test_the_journal_is_optunas_file_format(tmp_path):
    path = tmp_path / "optuna.journal"
    study = _study_written(path, 5)
    reread = _read_back(path)
    assert [t.params for t in reread.trials] == [t.params for t in study.trials]
    assert [t.value for t in reread.trials] == [t.value for t in study.trials]


def test_a_line_cut_by_a_kill_is_dropped(tmp_path):
    path = tmp_path / "optuna.journal"
    _study_written(path, 3)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_code": 4, "worker_id"')  # a write cut short
    SingleWriterJournal(path).close()
    assert path.read_bytes() == whole
    _study_written(path, 2)
    assert len(_read_back(path).trials) == 5


def test_unflushed_operations_are_not_on_disk(tmp_path):
    """Operations are written out by ``flush`` (after each tell), not one by one."""
    path = tmp_path / "optuna.journal"
    journal = SingleWriterJournal(path)
    study = optuna.create_study(storage=JournalStorage(journal), study_name="s")
    journal.flush()
    size = path.stat().st_size
    study.ask().suggest_float("x", 0, 1)
    assert path.stat().st_size == size
    journal.flush()
    assert path.stat().st_size > size
    journal.close()


@pytest.mark.parametrize("sampler", [optuna.samplers.TPESampler, optuna.samplers.RandomSampler])
def test_reseeding_makes_proposals_depend_on_history_only(sampler):
    """A sampler built afresh (as after a kill) proposes what the long-lived one did."""

    def proposals(rebuild_at: int | None) -> list[float]:
        study = optuna.create_study(sampler=sampler(seed=7))
        out = []
        reseed = Reseeder(study.sampler, 7)
        for number in range(12):
            if number == rebuild_at:
                study.sampler = sampler(seed=7)
                reseed = Reseeder(study.sampler, 7)
            reseed(number)
            trial = study.ask()
            out.append(trial.suggest_float("x", -3, 3))
            study.tell(trial, (out[-1] - 1) ** 2)
        return out

    assert proposals(None) == proposals(6)
    assert len(set(proposals(None))) == 12


def test_derived_seeds_are_31_bit_and_differ_by_part():
    seeds = {derive_seed(s, t) for s in range(20) for t in range(50)}
    assert len(seeds) == 1000
    assert all(0 <= s < 2**31 for s in seeds)
    assert derive_seed(3, 4) != derive_seed(4, 3)
    assert derive_seed(3, 4) != derive_seed(3, 4, 1)
    assert derive_seed(3, 4) == derive_seed(3, 4)
