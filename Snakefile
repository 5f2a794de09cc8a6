from snakemake.utils import min_version

min_version("8.20")


# The embedded default experiment, unless --configfile names another one (which then replaces
# it rather than being merged into it).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


rule all:
    default_target: True
    input:
        all_outputs(),


include: "workflow/rules/tune.smk"
include: "workflow/rules/analysis.smk"
