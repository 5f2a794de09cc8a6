"""Building adapters from config entries, and the contract's reach over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.adapter_contract import AdapterContract
from tests.helpers.studies import ADAPTERS
from tunebench.frameworks import OptimizerConfigError, build_optimizer


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"framework": "optuna", "sampler": "bayes"}, "optimizers.o.sampler: unknown sampler"),
        ({"framework": "hyperopt", "algo": "atpe2"}, "optimizers.o.algo: unknown algo 'atpe2'"),
        ({"framework": "nevergrad2"}, "optimizers.o.framework: unknown framework 'nevergrad2'"),
        ({"framework": "optuna", "colour": "red"}, "optimizers.o:"),
    ],
)
def test_bad_optimizer_entries_are_one_line_errors(spec, message):
    with pytest.raises(OptimizerConfigError) as error:
        build_optimizer("o", spec)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_every_adapter_entry_runs_the_contract():
    """Each framework in ADAPTERS has its test module here with a contract subclass."""
    import importlib

    for framework in sorted({spec["framework"] for spec in ADAPTERS.values()}):
        path = Path(__file__).with_name(f"test_{framework}.py")
        assert path.is_file(), f"{framework}: add {path.name} with its AdapterContract subclass"
        module = importlib.import_module(f"{__package__}.test_{framework}")
        contracts = [
            c
            for c in vars(module).values()
            if isinstance(c, type) and c is not AdapterContract and issubclass(c, AdapterContract)
        ]
        assert contracts, f"{path.name} has no AdapterContract subclass"
