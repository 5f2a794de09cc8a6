rule aggregate_trials:
    input:
        study_files("trials.parquet"),
        study_files("curves.parquet"),
    output:
        trials="results/trials.parquet",
        curves="results/curves.parquet",
    log:
        "results/logs/aggregate_trials.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        studies=study_dirs(),
    shell:
        "tunebench aggregate {params.studies} --trials-out {output.trials}"
        " --curves-out {output.curves} > {log} 2>&1"


rule compare_optimizers:
    input:
        "results/trials.parquet",
    output:
        report(
            expand("results/stats/{name}.csv", name=STATS),
            caption="../report/stats.rst",
            category="Statistics",
        ),
        family="results/stats/family.json",
    log:
        "results/logs/compare_optimizers.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        budget=PRIMARY_BUDGET,
        analysis=config["analysis"],
    shell:
        "tunebench compare {input} --out results/stats --budget {params.budget:q}"
        " --alpha {params.analysis[alpha]} --correction {params.analysis[correction]}"
        " --baseline {params.analysis[baseline]:q} --block {params.analysis[block]}"
        " --n-boot {params.analysis[n_boot]} --random-state {params.analysis[random_state]}"
        " > {log} 2>&1"


rule plot_comparison:
    input:
        rules.compare_optimizers.output,
    output:
        anytime=report(
            "results/figures/anytime.png",
            caption="../report/anytime.rst",
            category="Figures",
        ),
        test_scores=report(
            "results/figures/test_scores.png",
            caption="../report/test_scores.rst",
            category="Figures",
        ),
        ranks=report(
            "results/figures/ranks.png",
            caption="../report/ranks.rst",
            category="Figures",
        ),
    log:
        "results/logs/plot_comparison.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "tunebench plot results/stats --out results/figures > {log} 2>&1"


rule log_analysis:
    input:
        mlflow="results/mlflow/experiment.json",
        stats=rules.compare_optimizers.output,
        figures=rules.plot_comparison.output,
    output:
        "results/mlflow/analysis_run.json",
    params:
        analysis=json.dumps({**config["analysis"], "primary_budget": PRIMARY_BUDGET}),
    log:
        "results/logs/log_analysis.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "tunebench log-analysis {input.stats} {input.figures} --mlflow {input.mlflow}"
        " --params {params.analysis:q} --out {output} > {log} 2>&1"
