rule aggregate_trials:
    input:
        study_files("trials.parquet"),
        study_files("curves.parquet"),
    output:
        trials="results/trials.parquet",
        curves="results/curves.parquet",
    log:
        "results/logs/aggregate_trials.log",
    benchmark:
        "results/benchmarks/aggregate_trials.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        matrix=json.dumps(matrix_axes(config)),
    shell:
        "tunebench aggregate --matrix {params.matrix:q} --trials-out {output.trials}"
        " --curves-out {output.curves} > {log} 2>&1"


# One job for the whole analysis: the statistics, the summary, the figures (drawn by {threads}
# processes) and the analysis run in MLflow (written straight into a known SQLite store, else
# logged by a process that imports MLflow while the statistics are computed), so that pandas,
# SciPy and matplotlib are imported once.
rule analyse:
    input:
        trials="results/trials.parquet",
        mlflow="results/mlflow/experiment.json",
        runs=logged_runs(),
    output:
        stats=[
            report(
                f"results/stats/{name}",
                caption="../report/stats.rst",
                category=report_category("Tables"),
            )
            for name in STATS_FILES
        ],
        figures=[
            report(
                f"results/figures/{name}",
                caption=f"../report/{FIGURE_CAPTIONS[name]}",
                category=FIGURE_CATEGORIES[name],
                labels={"figure": name.removesuffix(".png")},
            )
            for name in FIGURE_FILES
        ],
        markdown=f"results/{SUMMARY_FILE}",
        html=report(
            f"results/{SUMMARY_HTML}",
            caption="../report/summary.rst",
            category=report_category("Summary"),
        ),
        run="results/mlflow/analysis_run.json",
    log:
        "results/logs/analyse.log",
    benchmark:
        "results/benchmarks/analyse.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 4
    params:
        budget=PRIMARY_BUDGET,
        at=PRIMARY_AT,
        analysis=config["analysis"],
        comparisons=json.dumps(config["comparisons"]),
        run=json.dumps(
            {
                **config["analysis"],
                "primary_budget": PRIMARY_BUDGET,
                "slice": PRIMARY_AT,
            }
        ),
        config_hash=CONFIG_HASH,
    shell:
        "tunebench analyse {input.trials} --stats-out results/stats --figures-out results/figures"
        " --summary {output.markdown} --html {output.html}"
        " --budget {params.budget:q} --at={params.at:q}"
        " --alpha {params.analysis[alpha]} --correction {params.analysis[correction]}"
        " --baseline {params.analysis[baseline]:q} --block {params.analysis[block]}"
        " --n-boot {params.analysis[n_boot]} --random-state {params.analysis[random_state]}"
        " --comparisons {params.comparisons:q} --jobs {threads}"
        " --mlflow {input.mlflow} --params {params.run:q} --config-hash {params.config_hash}"
        " --run-out {output.run} > {log} 2>&1"
