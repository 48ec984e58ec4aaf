"""`report`: one self-contained HTML file, stepped through in a real headless Chromium."""

import json
import os
import re
import shutil
import tempfile

import pytest

from test_cli import ROOT, run

ARTIFACTS = os.path.join(ROOT, "artifacts")  # gitignored; screenshots of the browser test land here


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("report") / "report.html")
    r = run("report", "-o", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"wrote {path} (64 instances, ")  # 6 declared instances, 58 matrix rows
    return path


def test_report_is_self_contained_and_deterministic(report, tmp_path):
    page = open(report, encoding="utf-8").read()
    assert "<link" not in page and not re.search(r"\ssrc=", page)
    # The only URLs are XML namespace names, which browsers never fetch.
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    # One viewer per trace (a property's shortest trace, a violated cell's) across the 64
    # instances: 57; the matrix table has a row per config, with the rows whose remedy
    # fixes a violated cell.
    assert page.count('class="viewer"') == 57
    assert "<h2>Matrix</h2>" in page and page.count("<tr><td><code>") == 58
    assert "<th>fixed by</th>" in page and "no-loss: librdkafka-manual-store; " in page
    again = str(tmp_path / "again.html")
    assert run("report", "-o", again).returncode == 0
    assert open(again, encoding="utf-8").read() == page


def test_report_of_one_instance_and_bad_input(tmp_path):
    out = str(tmp_path / "one.html")
    r = run("report", "kafka", "-p", "commit=before", "-o", out)
    assert r.returncode == 0 and "(1 instance," in r.stdout, r.stderr
    page = open(out, encoding="utf-8").read()
    assert "checker report kafka -p messages=3 -p max_crashes=2 -p commit=before" in page
    assert "no-loss violated in 4 steps" in page
    r = run("report", "kafka", "--json", "-o", out)
    assert json.loads(r.stdout) == {"output": out, "instances": 1, "bytes": os.path.getsize(out)}
    r = run("report", "-p", "commit=before", "-o", out)
    assert r.returncode == 2 and "need a MODEL" in r.stderr and r.stderr.count("\n") == 1
    r = run("report", "-o", str(tmp_path / "no" / "such" / "dir.html"))
    assert r.returncode == 2 and "cannot write" in r.stderr and r.stderr.count("\n") == 1


def _browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        why = ("chromium and chromedriver are not installed (./setup.sh --test installs the Debian "
               "packages chromium and chromium-driver when run as root)")
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="checker-chromium-")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--window-size=1400,1000"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=opts), profile


@pytest.mark.slow
def test_step_through_a_trace_in_headless_chromium(report):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    drv, profile = _browser()
    try:
        drv.get("file://" + report)
        v = drv.find_element(By.CSS_SELECTOR, '.viewer[data-property="duplicate-delivery"]')
        counter = v.find_element(By.CSS_SELECTOR, ".counter")
        now = v.find_element(By.CSS_SELECTOR, ".now")
        prev, nxt = (v.find_element(By.CSS_SELECTOR, f"button.{c}") for c in ("prev", "next"))

        def current():
            return sorted(e.get_attribute("id") or e.tag_name for e in v.find_elements(By.CSS_SELECTOR, ".current"))

        assert counter.text == "step 0 of 6" and now.text == "the initial state"
        assert not prev.is_enabled()
        for _ in range(4):
            nxt.click()
        # Step 4 is the crash: it goes back to the initial class (pc=idle, committed=0) of the
        # projection, over the edge from pc=processed (node 2), and is marked everywhere.
        assert counter.text == "step 4 of 6"
        assert now.text.startswith("Crash: The consumer process dies") and "position 1->0" in now.text
        assert "failure" in now.get_attribute("class")
        assert current() == ["tr", "v1-q0", "v1-qe2_0", "v1-seq-step-4"]
        row = v.find_element(By.CSS_SELECTOR, "tr.current")
        assert row.text.startswith("4 Crash m0 processed 1x;")
        os.makedirs(ARTIFACTS, exist_ok=True)
        drv.execute_script("arguments[0].scrollIntoView()", v)
        shot = os.path.join(ARTIFACTS, "report-duplicate-delivery-step4.png")
        assert drv.save_screenshot(shot)
        assert open(shot, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        prev.click()
        assert counter.text == "step 3 of 6" and now.text.startswith("Process:")
        assert current() == ["tr", "v1-q2", "v1-qe1_2", "v1-seq-step-3"]
        v.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
        assert counter.text == "step 6 of 6" and not nxt.is_enabled()
        assert now.text.endswith("=> duplicate-delivery reached")

        lost = drv.find_element(By.CSS_SELECTOR, '.viewer[data-property="no-loss"]')
        for _ in range(4):
            lost.find_element(By.CSS_SELECTOR, "button.next").click()
        assert lost.find_element(By.CSS_SELECTOR, ".counter").text == "step 4 of 4"
        assert lost.find_element(By.CSS_SELECTOR, ".now").text.endswith("=> no-loss violated")
        drv.execute_script("arguments[0].scrollIntoView()", lost)
        assert drv.save_screenshot(os.path.join(ARTIFACTS, "report-no-loss-step4.png"))
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)
