"""The national office's API token pages in a real browser (issue 17, item 3): a token made for
another system's account is shown once and works; the list speaks Norwegian only; revoking asks
first, says it is done, and the token stops working at once."""

from tests.browser.steps import assert_norwegian_only, sign_in

HOLDER = "intake.system@example.no"


def test_the_national_office_makes_a_token_sees_it_once_and_revokes_it(stack, page):
    stack.account("national.tokens@example.no", "national_admin")
    stack.account(HOLDER, "integration")
    sign_in(page, stack, "national.tokens@example.no")
    page.get_by_role("link", name="API-nøkler").first.click()
    page.get_by_label("E-postadressen til kontoen").fill(HOLDER)
    page.get_by_label("Navn på nøkkelen").fill("inntakssystemet")
    page.get_by_label("Hvor mange dager nøkkelen skal virke").fill("30")
    page.get_by_role("button", name="Lag nøkkelen").click()
    token = page.get_by_label("Nøkkelen", exact=True).input_value()
    assert token.startswith("flk_") and "Den vises bare denne ene gangen" in page.locator("main").inner_text()
    bearer = {"Authorization": f"Bearer {token}"}
    assert stack.api("GET", "/api/tokens", headers=bearer)[0] == 403  # known, but not the national office

    page.goto(f"{stack.url}/national/tokens")
    listed = page.locator("main").inner_text()
    assert token not in page.content() and "inntakssystemet" in listed and HOLDER in listed
    assert "Ikke brukt ennå" not in listed  # its use above was noted
    assert_norwegian_only(page, names=("inntakssystemet", HOLDER))

    page.get_by_role("link", name="Trekk tilbake inntakssystemet").click()
    assert "Vil du trekke tilbake nøkkelen «inntakssystemet»?" in page.locator("main").inner_text()
    assert_norwegian_only(page, names=("inntakssystemet", HOLDER))
    assert stack.api("GET", "/api/tokens", headers=bearer)[0] == 403  # asking revoked nothing
    page.get_by_role("button", name="Ja, trekk tilbake nøkkelen").click()
    assert page.url.endswith("/national/tokens?done=revoked")
    assert "Nøkkelen er trukket tilbake" in page.get_by_role("status").inner_text()
    assert stack.api("GET", "/api/tokens", headers=bearer)[0] == 401
