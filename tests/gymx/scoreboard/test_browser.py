"""In Debian's Chromium (Selenium): three runs uploaded with the CLI, the board ranks them with their numbers, an entry shows its plot and video.

Skipped where /usr/bin/chromium (and its chromedriver) is absent; the screenshot is saved as a test artefact
(`$GYMX_TEST_ARTIFACTS`, default the test's temporary folder).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from gymx import cli
from gymx.scoreboard.app import create_app
from gymx.scoreboard.store import Store

from .conftest import LiveServer, constant_policy, synthetic_dir

CHROMIUM, DRIVER = "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="Debian's chromium and chromium-driver are not installed",
)


def policy_checkpoint_free_upload(run: Path, server: str, key: str, monkeypatch) -> None:
    """`gymx upload` of `run` with the always-left CartPole policy put in the bundle by hand (no checkpoint needed)."""
    from gymx.scoreboard import bundle, client

    monkeypatch.setattr(
        client,
        "make_bundle",
        lambda *args, **kwargs: bundle.pack(run, "CartPole-v1", "const", policy=constant_policy()),
    )
    monkeypatch.setenv("GYMX_SCOREBOARD_KEY", key)
    assert cli.main(["upload", str(run), "--env", "CartPole-v1", "--algorithm", "const", "--server", server]) == 0


def test_board_and_entry_in_chromium(tmp_path, monkeypatch):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By

    store = Store(data_dir=tmp_path / "data")
    runs = {}
    for i, (user, level) in enumerate([("ann", 7.0), ("ben", 8.0), ("cat", 7.5)]):
        runs[user] = synthetic_dir(tmp_path / user, level, offset=20 + i)
    (runs["ben"] / "rl-video-episode-0.mp4").write_bytes(_tiny_mp4())
    with LiveServer(create_app(store)) as server:
        for user, run in runs.items():
            policy_checkpoint_free_upload(run, server.url, store.add_user(user), monkeypatch)
        deadline = time.monotonic() + 180
        while any(
            row["status"] == "pending" for row in httpx.get(f"{server.url}/api/boards/CartPole-v1").json()["others"]
        ):
            assert time.monotonic() < deadline, "verification did not finish"
            time.sleep(0.5)
        board = httpx.get(f"{server.url}/api/boards/CartPole-v1").json()
        assert [row["user"] for row in board["ranked"]] == ["ben", "cat", "ann"]  # by IQM, highest first

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1600"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=options)
        try:
            driver.get(server.url + "/")
            driver.find_element(By.LINK_TEXT, "CartPole-v1").click()
            rows = driver.find_elements(By.CSS_SELECTOR, "#ranked tr.entry-row")
            shown = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]
            assert [row[1] for row in shown] == ["ben", "cat", "ann"]
            assert [row[4] for row in shown] == [f"{row['iqm']:.1f}" for row in board["ranked"]]
            assert [row[6] for row in shown] == [f"{row['verified_score']:.1f}" for row in board["ranked"]]
            driver.find_element(By.LINK_TEXT, "ben").click()
            image = driver.find_element(By.ID, "curves")
            assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0
            video = driver.find_element(By.TAG_NAME, "video")
            assert httpx.get(video.get_attribute("src")).headers["content-type"] == "video/mp4"
            assert driver.find_element(By.ID, "status").text == "verified"
            artefacts = Path(os.environ.get("GYMX_TEST_ARTIFACTS", tmp_path))
            artefacts.mkdir(parents=True, exist_ok=True)
            assert driver.save_screenshot(str(artefacts / "scoreboard-entry.png"))
        finally:
            driver.quit()
    store.close()


def _tiny_mp4() -> bytes:
    """A 4-frame 16x16 MP4 from imageio's ffmpeg, or a few bytes standing in for one where it is missing."""
    try:
        import imageio.v2 as imageio
        import numpy as np
    except ImportError:
        return b"\x00\x00\x00\x18ftypmp42"
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "v.mp4")
        imageio.mimwrite(path, [np.full((16, 16, 3), 40 * i, np.uint8) for i in range(4)], fps=4)
        return Path(path).read_bytes()
