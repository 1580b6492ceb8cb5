"""Maps the top-level `envs/` and `kernels/` folders to the import names `gymx.envs` and `gymx.kernels`."""

from setuptools import find_packages, setup


def subpackages(folder: str, name: str) -> list[str]:
    return [name, *(f"{name}.{sub}" for sub in find_packages(folder))]


setup(
    packages=subpackages("gymx", "gymx") + subpackages("envs", "gymx.envs") + subpackages("kernels", "gymx.kernels"),
    package_dir={"gymx": "gymx", "gymx.envs": "envs", "gymx.kernels": "kernels"},
    package_data={"gymx.train": ["configs/*/*.toml"]},
)
