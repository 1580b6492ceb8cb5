"""The scoreboard's commands: `gymx scoreboard serve|add-user|revoke-key|fetch` and `gymx upload`."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_commands(commands: Any) -> None:
    """Adds `scoreboard` (with its subcommands) and `upload` to the `gymx` command's subparsers."""
    scoreboard = commands.add_parser(
        "scoreboard", help="run or administer a scoreboard server, or fetch an entry; needs the scoreboard extra"
    )
    sub = scoreboard.add_subparsers(dest="scoreboard_command", required=True)

    def storage(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--database", default=None, help="postgresql://USER:PASSWORD@HOST/DB (default: SQLite in the data folder)"
        )
        parser.add_argument(
            "--data-dir",
            default=None,
            help="where files (and the default SQLite database) live (default: the user's data folder)",
        )

    serve = sub.add_parser("serve", help="start the server (uvicorn)")
    storage(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8650)
    serve.add_argument("--max-upload-mb", type=int, default=64)
    serve.set_defaults(run=_serve)

    add_user = sub.add_parser("add-user", help="create a user and print its API key (shown once)")
    storage(add_user)
    add_user.add_argument("name")
    add_user.add_argument("--rate", type=int, default=30, help="uploads a minute allowed to its keys (default 30)")
    add_user.set_defaults(run=_add_user)

    revoke = sub.add_parser("revoke-key", help="revoke an API key (or every key of a user name)")
    storage(revoke)
    revoke.add_argument("key")
    revoke.set_defaults(run=_revoke)

    fetch = sub.add_parser("fetch", help="download an entry's config, policy and writeup to re-run it locally")
    fetch.add_argument("entry", type=int)
    fetch.add_argument("--out", default=None, help="folder (default: entry-ENTRY)")
    fetch.add_argument("--server", default=None, help="server URL (default http://127.0.0.1:8650)")
    fetch.set_defaults(run=_fetch)

    upload = commands.add_parser(
        "upload",
        help="upload a Monitor directory (gymx's logs or the original Gym monitor's openaigym.* files) to a scoreboard (key in GYMX_SCOREBOARD_KEY)",
    )
    upload.add_argument("directory")
    upload.add_argument("--env", required=True, help="env id, e.g. CartPole-v1")
    upload.add_argument("--algorithm", required=True)
    upload.add_argument("--writeup", default=None, help="a Markdown file")
    upload.add_argument(
        "--policy", default=None, help="a gymx train checkpoint (checkpoint.safetensors or best.safetensors) to verify"
    )
    upload.add_argument("--code-url", default=None, help="link to the code that produced the run")
    upload.add_argument("--server", default=None, help="server URL (default http://127.0.0.1:8650)")
    upload.set_defaults(run=_upload)


def _store(args: argparse.Namespace) -> Any:
    from gymx.scoreboard.store import Store

    return Store(args.database, args.data_dir)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gymx.scoreboard.app import create_app

    store = _store(args)
    print(f"gymx scoreboard: database {store.url.split('@')[-1]}, files {store.files_dir}", file=sys.stderr)
    uvicorn.run(create_app(store, max_upload_bytes=args.max_upload_mb * 1024 * 1024), host=args.host, port=args.port)
    return 0


def _add_user(args: argparse.Namespace) -> int:
    from gymx.scoreboard.store import StoreError

    try:
        key = _store(args).add_user(args.name, args.rate)
    except StoreError as error:
        print(error.message, file=sys.stderr)
        return 2
    print(key)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    count = _store(args).revoke_key(args.key)
    if not count:
        print("gymx scoreboard revoke-key: no active key matched", file=sys.stderr)
        return 2
    print(f"revoked {count} key(s)")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from gymx.scoreboard import client

    try:
        written = client.fetch(args.entry, args.out or f"entry-{args.entry}", args.server or client.DEFAULT_SERVER)
    except client.UploadError as error:
        print(error, file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


def _upload(args: argparse.Namespace) -> int:
    from gymx.scoreboard import client

    try:
        data = client.make_bundle(args.directory, args.env, args.algorithm, args.writeup, args.policy, args.code_url)
        answer = client.upload(data, args.server or client.DEFAULT_SERVER)
    except (client.UploadError, FileNotFoundError, ValueError) as error:
        print(error, file=sys.stderr)
        return 2
    server = (args.server or client.DEFAULT_SERVER).rstrip("/")
    print(
        f"entry {answer['entry_id']}: {answer['status']}, IQM {answer['iqm']:.2f} [{answer['ci'][0]:.2f}, {answer['ci'][1]:.2f}]  {server}{answer['url']}"
    )
    return 0
