"""``newsclean`` command line: ``newsclean run [INPUT ...] [--output DIR]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flows.environment import configure_environment

EXIT_VALIDATION_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsclean",
        description="Clean, deduplicate and validate news articles into Parquet.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="process inputs and publish the dataset")
    run.add_argument(
        "inputs", nargs="*", default=["seeds/"], help="files or folders (default: seeds/)"
    )
    run.add_argument("--output", default="output", help="output directory (default: output/)")
    run.add_argument(
        "--shard-size", type=int, default=None, help="inputs per Prefect task (default: 500)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_environment()
    from flows.pipeline import newsclean_flow
    from tasks.config import PipelineConfig

    config = PipelineConfig()
    if args.shard_size:
        config = PipelineConfig(shard_size=args.shard_size)
    try:
        result = newsclean_flow(inputs=list(args.inputs), output=args.output, config=config)
    except FileNotFoundError as error:
        print(f"newsclean: {error}", file=sys.stderr)
        return EXIT_USAGE
    counts = result.summary.inputs
    print(
        f"run {result.run_id}: {counts['total']} inputs, {counts['published']} published, "
        f"{counts['skipped']} skipped, {counts['quarantined']} quarantined"
    )
    if result.published:
        print(f"articles:   {result.output / 'articles'}")
        print(f"paragraphs: {result.output / 'paragraphs'}")
    print(f"report:     {result.report_html}")
    print(f"data docs:  {result.data_docs}")
    if not result.validation_success:
        failures = result.summary.validation["failures"]
        print(f"validation FAILED ({len(failures)} expectations); nothing published:")
        for failure in failures:
            print(
                f"  {failure['suite']}: {failure['expectation']} on {failure['column']} "
                f"({failure['unexpected_count']} unexpected)"
            )
        return EXIT_VALIDATION_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
