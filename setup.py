"""Maps the top-level `envs/` and `kernels/` folders to the import names `gymx.envs` and `gymx.kernels`."""

from setuptools import find_namespace_packages, setup


def subpackages(folder: str, name: str) -> list[str]:
    # Namespace discovery, so data-only folders (the training configs) are packages too.
    return [name, *(f"{name}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"]))]


setup(
    packages=subpackages("gymx", "gymx") + subpackages("envs", "gymx.envs") + subpackages("kernels", "gymx.kernels"),
    package_dir={"gymx": "gymx", "gymx.envs": "envs", "gymx.kernels": "kernels"},
    package_data={
        "gymx.train.configs.dqn": ["*.toml"],
        "gymx.train.configs.ppo": ["*.toml"],
        "gymx.scoreboard": ["templates/*.html"],
    },
)
