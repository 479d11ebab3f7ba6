"""A user agent without a browser for the hosted pages: keeps cookies, follows redirects one
at a time, and fills in and sends the forms a page shows, with the hidden fields (CSRF
token, carried request) the page put there. The real browser walk is
``tests/browser/test_hosted_pages.py``; this one drives the many refusal cases fast."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(named.get("action", "")))
        elif tag == "input" and self.forms and named.get("name"):
            self.forms[-1].fields[named["name"]] = named.get("value", "")
        elif tag == "button" and self.forms and named.get("name"):
            self.forms[-1].buttons.append((named["name"], named.get("value", "")))


def forms_of(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class Agent:
    """A user's browser, as far as the pages need one."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url
        self.http = httpx.Client(
            base_url=base_url, follow_redirects=False, timeout=30, headers=headers
        )
        self.page: httpx.Response | None = None

    def close(self) -> None:
        self.http.close()

    def go(self, url: str, *, until_outside: bool = True) -> httpx.Response:
        """GET ``url`` and follow redirects while they stay on this server; the answer
        that is not a redirect here (a page, or a redirect elsewhere)."""
        answer = self.http.get(url)
        return self._follow(answer) if until_outside else answer

    def _follow(self, answer: httpx.Response) -> httpx.Response:
        for _ in range(10):
            location = answer.headers.get("location")
            if answer.status_code not in (301, 302, 303, 307) or location is None:
                break
            target = urljoin(str(answer.url), location)
            if not target.startswith(self.base_url):
                break
            answer = self.http.get(target)
        self.page = answer
        return answer

    def submit(
        self, fields: dict[str, str] | None = None, *, index: int = -1, button: str = ""
    ) -> httpx.Response:
        """Fill in the page's form (the last one unless ``index``) and send it."""
        assert self.page is not None
        form = forms_of(self.page.text)[index]
        data = {**form.fields, **(fields or {})}
        if button:
            data.update({name: value for name, value in form.buttons if value == button})
        answer = self.http.post(urljoin(str(self.page.url), form.action), data=data)
        return self._follow(answer)
