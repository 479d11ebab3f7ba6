"""Two-step sign-in in Chromium, on SQLite and PostgreSQL: a user sets up an authenticator
on the account page (the QR code is an image the browser shows; pyotp plays the app from
the key beside it), keeps the recovery codes, signs out, and signs in with password and
code. Each page passes axe-core's checks; the screenshots go to the README."""

from __future__ import annotations

import time

import pyotp

from tests.browser.test_hosted_pages import accessibility_violations, axe_or_skip
from tests.support.browser import chromium, screenshot_folder
from tests.support.services import ServerProcess


def test_a_user_sets_up_an_authenticator_and_signs_in_with_it(
    server: ServerProcess, new_user, tmp_path, backend: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    user, password = new_user()
    axe = axe_or_skip()
    shots = screenshot_folder(tmp_path)

    with chromium(width=900, height=1000) as browser:
        wait = WebDriverWait(browser, 30)

        def page(title: str, name: str = "") -> None:
            wait.until(when.text_to_be_present_in_element((By.TAG_NAME, "h1"), title))
            assert accessibility_violations(browser, axe) == [], title
            if name and backend == "sqlite":
                assert browser.save_screenshot(str(shots / f"pages-{name}.png"))

        def fill(**fields: str) -> None:
            for field, value in fields.items():
                browser.find_element(By.ID, field).send_keys(value)

        def press(text: str) -> None:
            browser.find_element(By.XPATH, f"//button[normalize-space()='{text}']").click()

        browser.get(f"{server.base_url}/signin")
        page("Sign in")
        fill(login=user["username"], password=password)
        press("Sign in")
        page("Your account")
        browser.find_element(By.PARTIAL_LINK_TEXT, "Two-step sign-in: off").click()
        page("Two-step sign-in")
        # Just signed in: no password asked again (step-up by a recent sign-in).
        press("Set up an authenticator app")
        wait.until(when.presence_of_element_located((By.CSS_SELECTOR, "img.qr")))
        qr = browser.find_element(By.CSS_SELECTOR, "img.qr")
        assert browser.execute_script("return arguments[0].naturalWidth", qr) > 0  # it drew
        page("Two-step sign-in", "two-step-setup")
        app = pyotp.TOTP(browser.find_element(By.ID, "secret").text)
        fill(code=app.now())
        press("Turn on two-step sign-in")
        wait.until(when.presence_of_element_located((By.ID, "recovery-codes")))
        codes = browser.find_element(By.ID, "recovery-codes").text.split()
        assert len(codes) == 10
        page("Two-step sign-in", "two-step-codes")

        browser.get(f"{server.base_url}/account")
        page("Your account")
        press("Sign out")
        page("You are signed out")

        browser.get(f"{server.base_url}/signin")
        page("Sign in")
        fill(login=user["email"], password=password)
        press("Sign in")
        page("Two-step sign-in", "two-step-code")
        fill(code=app.at(time.time() + 30))  # the next step's: the set-up spent this one
        press("Continue")
        page("Your account")
        assert browser.find_element(By.ID, "username").text == user["username"]
