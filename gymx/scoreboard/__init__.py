"""A self-hosted scoreboard for Monitor runs: uploads checked file by file, boards ranked by the
interquartile mean over seeds with bootstrap confidence intervals, and every ranked entry verified
by re-running its policy on seeds the server keeps secret (records signed with Ed25519).

Modules: `db` (tables, engine, migrations), `keys` (API keys and rate limits), `bundle` (the
upload archive: packed by the client, checked by the server), `scoring` (IQM, bootstrap CIs,
normalised suite scores), `policy` (safetensors weights plus a declared network, never a pickle),
`verify` (the re-run worker and signed records), `app` (the FastAPI app: pages and JSON API),
`client` (`gymx upload`, `gymx scoreboard fetch`), `cli` (the commands). Needs the `scoreboard` extra.
"""
