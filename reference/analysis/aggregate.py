"""What a user would write instead of `clipbench aggregate`: Python polars over the same
run directories, computing per-strategy medians from the step records and summaries.

    python aggregate.py results/<study>

Per run: the median of the global gradient norm, the share of logged steps whose norm
exceeds 10x that median (a gradient spike, as clipbench counts it), the last logged loss
and mean theta; per strategy: the medians of those and of the test accuracy at the
selected epoch (summary.json). Prints the per-strategy table.
"""

import json
import sys
from pathlib import Path

import polars as pl

SPIKE_FACTOR = 10.0


def runs(study: Path):
    for d in sorted((study / "runs").iterdir()):
        summary = d / "summary.json"
        if not summary.is_file():
            continue  # incomplete runs are skipped, as clipbench does
        s = json.loads(summary.read_text())
        acc = s.get("test_acc_at_selected", s.get("final_test_acc"))
        yield d, s["strategy"], acc


def main() -> None:
    study = Path(sys.argv[1])
    frames, accs = [], []
    for d, strategy, acc in runs(study):
        accs.append({"run": d.name, "strategy": strategy, "test_acc": acc})
        frames.append(
            pl.scan_ndjson(
                d / "metrics.jsonl",
                schema={
                    "kind": pl.String,
                    "step": pl.Int64,
                    "loss": pl.Float64,
                    "grad_norm": pl.Float64,
                    "theta": pl.Struct({"clip1": pl.Float64, "clip2": pl.Float64}),
                },
            )
            .filter(pl.col("kind") == "step")
            .with_columns(run=pl.lit(d.name), strategy=pl.lit(strategy))
        )
    steps = pl.concat(frames)
    per_run = (
        steps.group_by("run", "strategy")
        .agg(
            median_norm=pl.col("grad_norm").median(),
            spike_share=(
                pl.col("grad_norm") > SPIKE_FACTOR * pl.col("grad_norm").median()
            ).mean(),
            final_loss=pl.col("loss").sort_by("step").last(),
            final_theta=(
                (pl.col("theta").struct.field("clip1") + pl.col("theta").struct.field("clip2"))
                / 2
            )
            .sort_by("step")
            .last(),
        )
        .join(pl.LazyFrame(accs), on=["run", "strategy"])
    )
    table = (
        per_run.group_by("strategy")
        .agg(
            runs=pl.len(),
            test_acc=pl.col("test_acc").median(),
            median_norm=pl.col("median_norm").median(),
            spike_share=pl.col("spike_share").median(),
            final_loss=pl.col("final_loss").median(),
            final_theta=pl.col("final_theta").median(),
        )
        .sort("strategy")
        .collect()
    )
    with pl.Config(tbl_rows=100, tbl_cols=100):
        print(table)


if __name__ == "__main__":
    main()
