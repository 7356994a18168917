"""`reportbot`: the command line. Each command opens the runtime, does one job, and closes it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from adapters import casework, logs
from adapters.chat import chat
from adapters.compose import DATABASE_URL, runtime_for
from bot.config import Settings, load_settings
from bot.errors import ConfigError, StorageError

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
DATA_DIR_HELP = "where cases are kept (default ./data, or REPORTBOT_DATA_DIR)"
SCHOOL_UNSET = (
    "The school's name is not set, so the email to POSH asks its sender to write it in. Set it in "
    'reportbot.toml: [school] name = "Your School" (see reportbot.example.toml).'
)


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    async with runtime_for(settings) as runtime:
        await chat(runtime)
    return 0


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.server import serve

    port = args.port or int(os.environ.get("PORT", "3978"))
    async with runtime_for(settings) as runtime:
        await serve(runtime, os.environ, port)
    return 0


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    url = os.environ.get(DATABASE_URL, "")
    if not url.strip():
        raise ConfigError(
            f"{DATABASE_URL} is not set. `reportbot migrate` brings a Postgres database's "
            "tables up to date; the data folder (the default) needs no migrations."
        )
    from storage.postgres.migrate import migrate_url

    done = await migrate_url(url)
    if done.before == (done.after,):
        print(f"The database's tables are up to date (revision {done.after}); nothing to do.")
    else:
        was = ", ".join(done.before) or "none"
        print(f"Migrated the database's tables from revision {was} to {done.after}.")
    return 0


async def _slack_manifest(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.slack.manifest import render

    print(render(url=args.url, socket_mode=args.socket_mode, distributed=args.distributed))
    return 0


async def _teams_package(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.teams.package import build

    path = build(app_id=args.app_id, domain=args.domain, out=args.out, facts=settings.facts)
    print(f"Wrote {path}. Upload it in Teams: Apps > Manage your apps > Upload an app.")
    return 0


def _parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    parser = argparse.ArgumentParser(
        prog="reportbot",
        description="Report TikTok accounts that target school staff, and hand them to POSH.",
    )
    parser.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands: dict[str, Command] = {}
    p = sub.add_parser("chat", help="make a report in the terminal")
    p.add_argument("--data-dir", dest="data_dir_sub", metavar="DIR", help=DATA_DIR_HELP)
    commands["chat"] = _chat
    p = sub.add_parser("serve", help="serve Slack and/or Teams (configured by environment)")
    p.add_argument("--port", type=int, help="port to listen on (default PORT or 3978)")
    commands["serve"] = _serve
    p = sub.add_parser(
        "migrate", help=f"bring the Postgres tables up to date (the database {DATABASE_URL} names)"
    )
    commands["migrate"] = _migrate
    p = sub.add_parser("slack-manifest", help="print the Slack app manifest to paste into Slack")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--url", help="public base URL, e.g. https://reportbot.example.sch.uk")
    group.add_argument("--socket-mode", action="store_true", help="no public URL: Socket Mode")
    p.add_argument(
        "--distributed",
        action="store_true",
        help="for many schools, each installing through OAuth (SLACK_CLIENT_ID); needs --url",
    )
    commands["slack-manifest"] = _slack_manifest
    p = sub.add_parser("teams-package", help="write the Teams app package (zip) to upload")
    p.add_argument("--app-id", required=True, help="the Azure Bot's Microsoft App ID")
    p.add_argument("--domain", help="the bot's public host name, e.g. reportbot.example.sch.uk")
    p.add_argument("--out", default="reportbot-teams.zip", help="where to write the zip")
    commands["teams-package"] = _teams_package
    casework.register(sub, commands)
    return parser, commands


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands = _parser()
    args = parser.parse_args(argv)
    logs.configure(logging.INFO if args.verbose else logging.WARNING)
    command = commands.get(args.command or "chat")
    if command is None:
        parser.print_help()
        return 2
    try:
        settings = load_settings(data_dir=getattr(args, "data_dir_sub", None) or args.data_dir)
        if command in (_chat, _serve) and not settings.facts.school_name:
            logging.getLogger("reportbot").warning(SCHOOL_UNSET)
        return asyncio.run(command(args, settings))
    except (ConfigError, StorageError) as e:
        print(f"reportbot: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nStopped. Your answers so far are saved; run it again to carry on.")
        return 130
    except BrokenPipeError:
        # `reportbot sar NAME | head`: the reader has all it wanted. Say nothing, as command
        # line tools do, and exit as one ended by SIGPIPE would. (Not SIGPIPE's default action
        # for the whole process: `serve` must outlive a peer's closed socket.)
        _quiet_stdout()
        return 141  # 128 + SIGPIPE


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit meets no closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (a test's capture): nothing to flush
        pass


if __name__ == "__main__":
    sys.exit(main())
