"""The `callscope` command: the one place that wires every package together."""

from __future__ import annotations

import logging
import sys

import click

from core.errors import CallscopeError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """callscope: calls, recordings, transcripts and complaint analytics for Asterisk hotlines."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def _register() -> None:
    from cli import (
        analysis,
        analytics,
        api,
        db,
        ops,
        pipeline,
        reports,
        retention,
        simulator,
        surveys,
        telephony,
        transcription,
    )

    for module in (
        db,
        telephony,
        simulator,
        transcription,
        pipeline,
        analytics,
        analysis,
        reports,
        api,
        ops,
        retention,
        surveys,
    ):
        module.register(cli)


_register()


def main() -> None:
    """Entry point of the console script; a CallscopeError becomes a message and exit code 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CallscopeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
