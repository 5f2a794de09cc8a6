if LIVE_MLFLOW:

    rule init_mlflow:
        output:
            "results/mlflow/experiment.json",
        log:
            "results/logs/init_mlflow.log",
        conda:
            "../../envs/analysis.yaml"
        params:
            name=config["name"],
            uri=config["mlflow"]["tracking_uri"] or "",
        shell:
            "tunebench init-mlflow --name {params.name:q} --tracking-uri={params.uri:q}"
            " --results results --out {output} > {log} 2>&1"


# One job per chunk of studies (core.matrix.chunk_cells): the studies run in one process, or
# several at once in processes forked from it when the job gets the threads (tunebench.chunk),
# each in its own directory with its own journal, so a rerun redoes only the chunks with a
# missing or unfinished study, and those resume where they stopped.
for chunk in CHUNKS:

    rule:
        name:
            f"tune_{chunk.name}"
        input:
            **({"mlflow": "results/mlflow/experiment.json"} if LIVE_MLFLOW else {}),
        output:
            chunk_outputs(chunk),
        log:
            f"results/logs/tune/{chunk.name}.log",
        benchmark:
            f"results/benchmarks/tune/{chunk.name}.tsv"
        conda:
            chunk_env(chunk)
        threads: chunk_threads(chunk)
        resources:
            **chunk_resources(chunk),
        params:
            cells=chunk.to_json(),
            mlflow=" --mlflow results/mlflow/experiment.json" if LIVE_MLFLOW else "",
        shell:
            "PYTHONHASHSEED=0 tunebench run-studies --cells {params.cells:q} --results results"
            " --threads {threads}{params.mlflow} > {log} 2>&1"


# MLflow: each job logs the finished studies of its chunks (harness/study_log.py). Without live
# logging the first job creates the store and the experiment, and the others wait for it.
for g, group in enumerate(LOG_GROUPS):
    creates_store = g == 0 and not LIVE_MLFLOW

    rule:
        name:
            f"log_mlflow_{g}"
        input:
            [f"{d}/{name}" for d in group_study_dirs(group) for name in STUDY_OUTPUTS],
            **({} if creates_store else {"mlflow": "results/mlflow/experiment.json"}),
        output:
            **(
                {"experiment": "results/mlflow/experiment.json"}
                if creates_store
                else {}
            ),
            runs=f"results/mlflow/runs/{g}.json",
        log:
            f"results/logs/log_mlflow/{g}.log",
        benchmark:
            f"results/benchmarks/log_mlflow/{g}.tsv"
        conda:
            "../../envs/analysis.yaml"
        params:
            studies=" ".join(group_study_dirs(group)),
            trials=config["mlflow"]["trials"],
            store=(
                f"--name {config['name']}"
                f" --tracking-uri={shlex.quote(config['mlflow']['tracking_uri'] or '')}"
                " --experiment-out results/mlflow/experiment.json"
                f" --config-hash {CONFIG_HASH}"
                if creates_store
                else "--mlflow results/mlflow/experiment.json"
            ),
        shell:
            "tunebench log-studies {params.studies} --results results"
            " --trials {params.trials} {params.store} --out {output.runs} > {log} 2>&1"
