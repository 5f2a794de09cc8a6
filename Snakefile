from snakemake.utils import min_version

from tunebench.core.config import ConfigError, load_config

min_version("8.20")


# The embedded default experiment, unless --configfile names another one (which then replaces
# it rather than being merged into it). Read by tunebench first, so that an unreadable file is one
# line rather than Snakemake's traceback.
if not workflow.overwrite_configfiles:
    try:
        load_config("config/config.yaml")
    except ConfigError as error:
        raise SystemExit(f"tunebench: invalid config: {error}")

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


rule all:
    default_target: True
    input:
        all_outputs(),


include: "workflow/rules/tune.smk"
include: "workflow/rules/analysis.smk"
