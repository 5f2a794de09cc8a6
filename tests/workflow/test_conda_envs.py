"""The conda envs of ``snakemake --use-conda``, read the way Snakemake and conda read them.

Conda itself cannot be installed here, so no env is built: the workflow is loaded through
Snakemake's API, each rule's ``conda:`` is resolved by Snakemake's own ``expand_conda_env`` (which
fails on a missing file) and read through its ``Env``; the ``pip:`` section is then parsed by pip's
own requirements parser in the directory where conda runs pip (beside Snakemake's copy of the env
file, ``.snakemake/conda/``), with the environment the workflow sets.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from pip._internal.network.session import PipSession
from pip._internal.req.constructors import install_req_from_parsed_requirement
from pip._internal.req.req_file import parse_requirements

from tests.helpers.workflow import ROOT, checkout, environment
from tunebench.frameworks import FRAMEWORKS

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = set(PYPROJECT["optional-dependencies"])
NOT_HOSTING = {"autopytorch"}  # needs Python <= 3.9 and cannot install tunebench: see its file
ENV_FILES = sorted(p.stem for p in (ROOT / "envs").glob("*.yaml"))

# Run in a checkout: loading the workflow sets os.environ and writes .snakemake/log there.
_LOAD = """
import json, os, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, Quietness, ResourceSettings

with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
    workflow = api.workflow(
        resource_settings=ResourceSettings(),
        config_settings=ConfigSettings(configfiles=[Path(sys.argv[1]).resolve()]),
        snakefile=Path("Snakefile").resolve(),
    )._workflow
    envs_dir = Path(".snakemake/conda").resolve()  # where Snakemake copies env files
    found = {}
    for rule in workflow.rules:
        spec = rule.expand_conda_env({})
        if spec is not None:
            env = spec.get_conda_env(workflow, envs_dir=str(envs_dir))
            path = os.path.realpath(env.file.get_path_or_uri(secret_free=True))
            entry = found.setdefault(path, {"rules": [], "content": env.content.decode()})
            entry["rules"].append(rule.name)
print(json.dumps({"envs": found, "envs_dir": str(envs_dir), "environ": dict(os.environ)}))
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict:
    """The env files of every rule of config/all-frameworks.yaml, as Snakemake resolves them."""
    work = checkout(tmp_path_factory.mktemp("conda") / "work")
    shutil.copy(ROOT / "pyproject.toml", work)  # what pip installs from
    run = subprocess.run(
        [sys.executable, "-c", _LOAD, "config/all-frameworks.yaml"],
        cwd=work, env=environment(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return {"work": work, **json.loads(run.stdout.splitlines()[-1])}


def test_every_rule_uses_an_existing_env_file_of_the_checkout(loaded) -> None:
    envs = loaded["envs"]
    work = Path(loaded["work"]).resolve()
    assert {Path(p).parent for p in envs} == {work / "envs"}
    used = {Path(p).stem for p in envs}
    assert used == set(FRAMEWORKS) - NOT_HOSTING | {"analysis"}
    assert "analyse" in envs[str(work / "envs" / "analysis.yaml")]["rules"]


@pytest.mark.parametrize("name", sorted(set(ENV_FILES) - NOT_HOSTING))
def test_env_file_installs_the_checkout_with_extras_of_pyproject(loaded, name, monkeypatch):
    work = Path(loaded["work"]).resolve()
    content = loaded["envs"][str(work / "envs" / f"{name}.yaml")]["content"]
    env = yaml.safe_load(content)
    assert set(env) == {"channels", "dependencies"}  # no name: Snakemake names it by hash
    assert env["channels"] == ["conda-forge", "nodefaults"]
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    assert SpecifierSet(PYPROJECT["requires-python"]).contains(python.removeprefix("python="))
    assert "pip" in deps
    (pip_lines,) = [d["pip"] for d in deps if isinstance(d, dict)]
    # conda writes the pip section to a requirements file beside its copy of the env file and
    # runs pip there, with the environment of Snakemake's process
    envs_dir = Path(loaded["envs_dir"])
    envs_dir.mkdir(parents=True, exist_ok=True)
    requirements = envs_dir / f"condaenv.{name}.requirements.txt"
    requirements.write_text("\n".join(pip_lines) + "\n")
    monkeypatch.chdir(envs_dir)
    monkeypatch.setenv("TUNEBENCH_ROOT", loaded["environ"]["TUNEBENCH_ROOT"])
    (parsed,) = parse_requirements(str(requirements), session=PipSession())
    tunebench = install_req_from_parsed_requirement(parsed)
    assert tunebench.editable
    assert Path(tunebench.link.file_path) == work  # the checkout the workflow runs from
    assert (work / "pyproject.toml").exists()
    assert tunebench.extras <= EXTRAS
    if name in FRAMEWORKS and name != "sklearn":  # scikit-learn is a core dependency
        assert name in tunebench.extras
    if name != "analysis":
        assert "torch" in tunebench.extras  # the PyTorch tasks run in every tuning env


def test_the_autopytorch_env_says_why_it_does_not_host_tunebench() -> None:
    text = (ROOT / "envs" / "autopytorch.yaml").read_text()
    assert "cannot host tunebench" in text and "TUNEBENCH_ROOT" not in text


def test_a_relative_path_would_resolve_beside_snakemakes_copy(loaded, monkeypatch):
    """Why the env files name ${TUNEBENCH_ROOT}: ``-e ..`` meant the repo only beside envs/."""
    requirements = Path(loaded["envs_dir"]) / "relative.requirements.txt"
    requirements.parent.mkdir(parents=True, exist_ok=True)
    requirements.write_text("-e ..[analysis]\n")
    monkeypatch.chdir(requirements.parent)
    (parsed,) = parse_requirements(str(requirements), session=PipSession())
    resolved = Path(install_req_from_parsed_requirement(parsed).link.file_path)
    assert resolved == Path(loaded["work"]).resolve() / ".snakemake"
    assert not (resolved / "pyproject.toml").exists()
