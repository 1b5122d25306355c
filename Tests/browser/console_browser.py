#!/usr/bin/env python3
"""Drives the review console in a real headless Chromium, as an approver would.

Given the console's base URL, an approver's public key file whose private half is held by the ssh-agent at
SSH_AUTH_SOCK, and a folder for artefacts, it:
  1. opens /login, reads the challenge, signs it with `ssh-keygen -Y sign -n console-login@mcp-linux-infra`
     (agent-held key: -f KEY.pub), pastes the signature and logs in;
  2. opens the pending action (the first of the queue, or --action ID);
  3. clicks the statement's copy button, reads the statement the form sends back, checks it is the one shown,
     signs it with `ssh-keygen -Y sign -n approval@mcp-linux-infra`, pastes the signature and approves;
  4. checks the action's state (--expect-state, APPROVED by default) and, with --expect-rationale, that the
     AI's rationale shows as that exact text (a <script> in it shows as text and never runs);
  5. opens /audit and /fleet.
A screenshot of each page is saved in the artefact folder (login.png, queue.png, action.png, approved.png,
audit.png, fleet.png), with the page's HTML beside it. It prints one JSON line with what it saw and exits 0,
or prints why and exits 1.

Run it with the project's virtualenv (selenium): /var/cache/mcp-linux-infra/mcp-venv/bin/python3.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

LOGIN_NAMESPACE = "console-login@mcp-linux-infra"
APPROVAL_NAMESPACE = "approval@mcp-linux-infra"


class Failure(Exception):
    """What the console did not show; the message says what was expected."""


def sign(text, namespace, public_key, folder, name):
    """Signs `text` as ssh-keygen does for an approver: the file holds exactly `text`."""
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    if os.path.exists(path + ".sig"):
        os.remove(path + ".sig")
    run = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", public_key, path],
                         capture_output=True, text=True, env=os.environ, timeout=30)
    if run.returncode != 0:
        raise Failure(f"ssh-keygen -Y sign -n {namespace} failed: {run.stderr.strip()} (is the key in SSH_AUTH_SOCK's agent?)")
    with open(path + ".sig", encoding="utf-8") as handle:
        return handle.read()


def save(driver, artefacts, name):
    """Screenshot and HTML of the current page."""
    driver.save_screenshot(os.path.join(artefacts, name + ".png"))
    with open(os.path.join(artefacts, name + ".html"), "w", encoding="utf-8") as handle:
        handle.write(driver.page_source)


def no_alert(driver, where):
    """A script that ran would have opened an alert: there must be none."""
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return
    text = alert.text
    alert.dismiss()
    raise Failure(f"an alert opened on {where} ({text!r}): a script from the page's data ran")


def paste(driver, element_id, text):
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def browser(chromium, chromedriver):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="the console, e.g. http://127.0.0.1:8080")
    parser.add_argument("--public-key", required=True, help="the approver's public key file; its private half is in the ssh-agent")
    parser.add_argument("--artefacts", required=True, help="folder for screenshots and page sources")
    parser.add_argument("--action", help="the action id to approve (default: the first of the queue)")
    parser.add_argument("--reason", default="checked in the review console", help="the approval's reason")
    parser.add_argument("--expect-state", default="APPROVED", help="the state the action must show after the approval")
    parser.add_argument("--expect-rationale", help="the exact rationale text the action page must show")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    arguments = parser.parse_args()
    if not os.environ.get("SSH_AUTH_SOCK"):
        print("console_browser: SSH_AUTH_SOCK is not set: start an ssh-agent holding the approver's key", file=sys.stderr)
        return 1
    os.makedirs(arguments.artefacts, exist_ok=True)
    base = arguments.base_url.rstrip("/")
    seen = {}
    driver = browser(arguments.chromium, arguments.chromedriver)
    wait = WebDriverWait(driver, 15)
    try:
        with tempfile.TemporaryDirectory(prefix="console-browser-") as folder:
            # 1. Log in with a signed challenge.
            driver.get(base + "/login")
            challenge = driver.find_element(By.ID, "challenge").text.strip()
            if not challenge.startswith("mcp-linux-infra console login v1 nonce="):
                raise Failure(f"/login shows no challenge (saw {challenge[:80]!r})")
            save(driver, arguments.artefacts, "login")
            paste(driver, "signature", sign(challenge + "\n", LOGIN_NAMESPACE, arguments.public_key, folder, "challenge.txt"))
            driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
            try:
                wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "form.logout")))
            except TimeoutException:
                error = driver.find_elements(By.ID, "error")
                raise Failure("login refused: " + (error[0].text if error else driver.current_url))
            seen["principal"] = driver.find_element(By.CSS_SELECTOR, "form.logout .who").text
            # The live session's cookie, for the caller to show that it opens nothing on /mcp.
            cookie = driver.get_cookie("console_session")
            seen["sessionCookie"] = cookie["value"] if cookie else ""
            save(driver, arguments.artefacts, "queue")

            # 2. The pending action.
            if arguments.action:
                driver.get(base + "/actions/" + arguments.action)
            else:
                links = driver.find_elements(By.CSS_SELECTOR, "table.queue a[href^='/actions/']")
                if not links:
                    raise Failure("the queue shows no pending action")
                links[0].click()
            wait.until(expected_conditions.presence_of_element_located((By.ID, "state")))
            no_alert(driver, "the action page")
            seen["action"] = driver.current_url.rsplit("/", 1)[-1]
            if arguments.expect_rationale is not None:
                rationale = driver.find_element(By.ID, "rationale").text
                if rationale != arguments.expect_rationale:
                    raise Failure(f"the rationale shows {rationale!r}, not {arguments.expect_rationale!r}")
                seen["rationale"] = rationale
            save(driver, arguments.artefacts, "action")

            # 3. Copy the statement, sign it, paste the signature.
            driver.find_element(By.CSS_SELECTOR, "button[data-copy='statement']").click()
            wait.until(lambda page: page.find_element(By.CSS_SELECTOR, "button[data-copy='statement']").text != "Copy")
            seen["copyButton"] = driver.find_element(By.CSS_SELECTOR, "button[data-copy='statement']").text
            statement = base64.b64decode(driver.find_element(By.NAME, "statement").get_attribute("value")).decode("utf-8")
            shown = driver.find_element(By.ID, "statement").text
            if shown.strip() != statement.strip():
                raise Failure("the statement the form sends back is not the one the page shows")
            paste(driver, "signature", sign(statement, APPROVAL_NAMESPACE, arguments.public_key, folder, "statement.txt"))
            paste(driver, "approve-reason", arguments.reason)
            driver.find_element(By.ID, "approve").click()
            wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#notice, #error")))
            error = driver.find_elements(By.ID, "error")
            if error:
                raise Failure("approval refused: " + error[0].text)
            seen["notice"] = driver.find_element(By.ID, "notice").text
            seen["state"] = driver.find_element(By.ID, "state").text
            save(driver, arguments.artefacts, "approved")
            if seen["state"] != arguments.expect_state:
                raise Failure(f"the action is {seen['state']} after the approval, not {arguments.expect_state}")

            # 4. The other pages.
            for name in ("audit", "fleet"):
                driver.get(base + "/" + name)
                save(driver, arguments.artefacts, name)
            no_alert(driver, "the fleet page")
    except Failure as failure:
        save(driver, arguments.artefacts, "failure")
        print(f"console_browser: {failure}", file=sys.stderr)
        return 1
    finally:
        driver.quit()
    print(json.dumps(seen, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
