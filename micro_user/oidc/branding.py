"""How the hosted pages of a namespace look: its name, logo and accent colour, set by an
operator (``micro-user branding set``). The accent is the background of the pages' buttons,
under white text, so a colour darker than 4.5:1 against white (WCAG AA) is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass

from micro_user.accounts.validation import control_character
from micro_user.clock import Clock
from micro_user.errors import BadRequest
from micro_user.storage import oidc as repo
from micro_user.storage.database import Database
from micro_user.urls import split_url

ERROR_ID = "branding"
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_CONTRAST = 4.5


@dataclass(frozen=True, slots=True)
class Branding:
    name: str = "micro-user"
    logo_url: str = ""
    color: str = "#1d4ed8"


DEFAULT = Branding()


def contrast_with_white(color: str) -> float:
    """WCAG 2's contrast ratio of ``#rrggbb`` against white."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(color[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


def checked(name: str, logo_url: str, color: str) -> Branding:
    name = name.strip()
    if not 1 <= len(name) <= 64 or control_character(name):
        raise BadRequest(ERROR_ID, "the name is 1 to 64 characters, without control characters")
    if logo_url:
        parts = split_url(logo_url)
        if (
            len(logo_url) > 512
            or parts is None
            or parts.scheme != "https"
            or not parts.hostname
            or control_character(logo_url)
        ):
            raise BadRequest(ERROR_ID, "the logo URL is an https URL of at most 512 characters")
    if not COLOR.match(color):
        raise BadRequest(ERROR_ID, "the colour is #rrggbb, e.g. #1d4ed8")
    if contrast_with_white(color) < MIN_CONTRAST:
        raise BadRequest(
            ERROR_ID,
            f"the colour {color} is too light under white text "
            f"({contrast_with_white(color):.1f}:1; at least {MIN_CONTRAST}:1): choose a darker one",
        )
    return Branding(name, logo_url, color.lower())


class Brandings:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def get(self, namespace: str) -> Branding:
        async with self.db.read() as conn:
            row = await repo.find_branding(conn, namespace)
        return DEFAULT if row is None else Branding(*row)

    async def set(
        self, namespace: str, *, name: str, logo_url: str = "", color: str = DEFAULT.color
    ) -> Branding:
        branding = checked(name, logo_url, color)
        async with self.db.write() as conn:
            await repo.save_branding(
                conn, namespace, branding.name, branding.logo_url, branding.color, self.clock()
            )
        return branding

    async def clear(self, namespace: str) -> None:
        async with self.db.write() as conn:
            await repo.delete_branding(conn, namespace)
