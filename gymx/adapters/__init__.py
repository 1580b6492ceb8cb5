"""Adapters that present gymx envs through other libraries' APIs.

Each adapter lives in its own module so that importing `gymx.adapters` pulls in no optional
dependency: `gymx.adapters.gymnasium` needs the `gymnasium` extra.
"""
