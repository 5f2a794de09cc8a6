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


rule tune_study:
    input:
        mlflow="results/mlflow/experiment.json",
    output:
        trials=f"{STUDY}/trials.parquet",
        curves=f"{STUDY}/curves.parquet",
        meta=f"{STUDY}/study.json",
    log:
        "results/logs/tune_study/{task}/{optimizer}/{budget}/seed{seed}.log",
    benchmark:
        "results/benchmarks/tune_study/{task}/{optimizer}/{budget}/seed{seed}.tsv"
    conda:
        framework_env
    threads: study_threads
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=uses_gpu,
    params:
        cell=cell_json,
        study_dir=STUDY,
    shell:
        "tunebench run-study --cell {params.cell:q} --out {params.study_dir}"
        " --mlflow {input.mlflow} > {log} 2>&1"
