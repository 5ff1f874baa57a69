"""report: reports/metrics.json, reports/timings.json, the figures and reports/report.md."""

from aeclust.config import load_params
from aeclust.imports import bulk_imports
from aeclust.io import paths
from aeclust.stage import run_stage


def main(argv: list[str]) -> None:
    params = load_params(paths.PARAMS)
    with bulk_imports():
        from aeclust.report.build import build_report  # matplotlib, scikit-learn

    build_report(params)


if __name__ == "__main__":
    run_stage("report", main)
