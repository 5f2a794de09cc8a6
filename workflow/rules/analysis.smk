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


rule compare_optimizers:
    input:
        "results/trials.parquet",
    output:
        [
            report(
                f"results/stats/{name}",
                caption="../report/stats.rst",
                category=report_category("Tables"),
            )
            for name in STATS_FILES
        ],
    log:
        "results/logs/compare_optimizers.log",
    benchmark:
        "results/benchmarks/compare_optimizers.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 4
    params:
        budget=PRIMARY_BUDGET,
        at=PRIMARY_AT,
        analysis=config["analysis"],
        comparisons=json.dumps(config["comparisons"]),
    shell:
        "tunebench compare {input} --out results/stats --budget {params.budget:q} --at={params.at:q}"
        " --alpha {params.analysis[alpha]} --correction {params.analysis[correction]}"
        " --baseline {params.analysis[baseline]:q} --block {params.analysis[block]}"
        " --n-boot {params.analysis[n_boot]} --random-state {params.analysis[random_state]}"
        " --comparisons {params.comparisons:q} --jobs {threads} > {log} 2>&1"


rule plot_comparison:
    input:
        rules.compare_optimizers.output,
    output:
        [
            report(
                f"results/figures/{name}",
                caption=f"../report/{FIGURE_CAPTIONS[name]}",
                category=FIGURE_CATEGORIES[name],
                labels={"figure": name.removesuffix(".png")},
            )
            for name in FIGURE_FILES
        ],
    log:
        "results/logs/plot_comparison.log",
    benchmark:
        "results/benchmarks/plot_comparison.tsv"
    conda:
        "../../envs/analysis.yaml"
    threads: 4
    shell:
        "tunebench plot results/stats --out results/figures --jobs {threads} > {log} 2>&1"


rule summarise_comparison:
    input:
        rules.compare_optimizers.output,
    output:
        markdown=f"results/{SUMMARY_FILE}",
        html=report(
            f"results/{SUMMARY_HTML}",
            caption="../report/summary.rst",
            category=report_category("Summary"),
        ),
    log:
        "results/logs/summarise_comparison.log",
    benchmark:
        "results/benchmarks/summarise_comparison.tsv"
    conda:
        "../../envs/analysis.yaml"
    shell:
        "tunebench summarise results/stats --out {output.markdown} --html {output.html}"
        " > {log} 2>&1"


rule log_analysis:
    input:
        mlflow="results/mlflow/experiment.json",
        runs=logged_runs(),
        stats=rules.compare_optimizers.output,
        figures=rules.plot_comparison.output,
        summary=rules.summarise_comparison.output,
    output:
        "results/mlflow/analysis_run.json",
    log:
        "results/logs/log_analysis.log",
    benchmark:
        "results/benchmarks/log_analysis.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        analysis=json.dumps(
            {
                **config["analysis"],
                "primary_budget": PRIMARY_BUDGET,
                "slice": PRIMARY_AT,
            }
        ),
        config_hash=CONFIG_HASH,
    shell:
        "tunebench log-analysis {input.stats} {input.figures} {input.summary}"
        " --mlflow {input.mlflow} --params {params.analysis:q}"
        " --config-hash {params.config_hash} --out {output} > {log} 2>&1"
