"""Maps the top-level `envs/` and `kernels/` folders to the import names `gymx.envs` and `gymx.kernels`."""

from setuptools import find_namespace_packages, setup


def subpackages(folder: str, name: str) -> list[str]:
    # Namespace discovery, so data-only folders (the training configs) are packages too.
    return [name, *(f"{name}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"]))]


packages = subpackages("gymx", "gymx") + subpackages("envs", "gymx.envs") + subpackages("kernels", "gymx.kernels")
# Every folder of training configs, at any depth: one per algorithm, and below it one per env
# namespace (ppo/ALE/ holds ALE/Pong-v5.toml).
configs = {package: ["*.toml"] for package in packages if package.startswith("gymx.train.configs.")}

setup(
    packages=packages,
    package_dir={"gymx": "gymx", "gymx.envs": "envs", "gymx.kernels": "kernels"},
    package_data={**configs, "gymx.scoreboard": ["templates/*.html"]},
)
