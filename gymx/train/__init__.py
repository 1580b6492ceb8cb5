"""Reference training loops over gymx's batched envs: PPO, DQN and SAC, each a whole run in one compiled program.

    from gymx.train import agents, runner
    agent = agents.make("ppo", "CartPole-v1")                    # configs/ppo/CartPole-v1.toml
    states, wall_s = runner.train_seeds(agent, seeds=range(8))   # 8 agents, one program
    returns = runner.evaluate(agent, states, num_episodes=100, key=jax.random.PRNGKey(0))

Or, purejaxrl-style, `jax.jit(jax.vmap(agent.run))(runner.seed_keys(range(8)))`. Modules:
`ppo`, `dqn`, `sac` (one algorithm each), `networks` (MLP and distributions), `replay` (device replay
buffer), `config` (TOML -> frozen dataclass), `runner` (chunked training, resuming, evaluation,
the best policy), `episodes` (the finished episodes a chunk reports), `checkpoint` (save/load),
`rundir` (a run's folder, a Monitor directory: new, resumed or overwritten). Needs the `train` extra (optax,
safetensors; matplotlib for the plot).
"""
