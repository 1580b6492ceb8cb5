"""Adapters that present gymx envs through other libraries' APIs.

Each adapter lives in its own module so that importing `gymx.adapters` pulls in no optional
dependency; each needs its extra: `gymx.adapters.gymnasium` (`gymnasium`), `gymx.adapters.torch`
(`torch`), `gymx.adapters.pettingzoo` (`pettingzoo`), `gymx.adapters.dm_env` (`dm-env`).
"""
