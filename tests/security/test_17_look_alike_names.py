"""Finding 17: look-alike and invisible characters in usernames and emails.

``аlice`` (Cyrillic а), ``ａｌｉｃｅ`` (fullwidth), combining marks, and invisible or
bidi-control characters in an address let an attacker register a name that reads as
someone else's. Usernames follow RFC 8265 (PRECIS UsernameCaseMapped), emails refuse
format and control characters, and a name whose UTS #39 skeleton equals an existing
one is refused, by a unique index (race-free)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, text

from conftest import unique
from micro_user.storage.migrate import upgrade

PASSWORD = "correct horse 1"
CYRILLIC_A = "\u0430"


def fullwidth(value: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in value)


def create(api, **fields) -> httpx.Response:
    fields.setdefault("email", f"{unique()}@example.com")
    return api("Create", password=PASSWORD, **fields)


@pytest.fixture
def alice(api):
    """An account whose username and email local part start with 'alice'."""
    name = "alice" + unique("x")
    return api.ok("Create", username=name, email=f"{name}@example.com", password=PASSWORD)[
        "account"
    ]


def test_look_alike_usernames_are_refused_on_create(api, alice):
    name = alice["username"]
    for look_alike in (
        CYRILLIC_A + name[1:],  # аlice
        "a\u0301" + name[1:],  # álice, with a combining acute accent
        "\u00e1" + name[1:],  # álice, precomposed
        name.upper(),
    ):
        response = create(api, username=look_alike)
        assert response.status_code == 400, (look_alike, response.text)
        assert response.json()["id"] == "users-username-check", response.text


def test_fullwidth_is_the_same_name_and_finds_it(api, alice):
    response = create(api, username=fullwidth(alice["username"]))
    assert response.status_code == 400 and response.json()["id"] == "users-username-check"
    # A new fullwidth name is stored as its ASCII form, and Login and Read find it either way.
    name = unique("bob")
    account = api.ok(
        "Create", username=fullwidth(name), email=f"{name}@example.com", password=PASSWORD
    )["account"]
    assert account["username"] == name
    assert api.ok("Login", username=fullwidth(name.upper()), password=PASSWORD)["session"]["id"]
    assert api.ok("Read", username=fullwidth(name))["account"]["id"] == account["id"]


@pytest.mark.parametrize(
    "bad",
    ["\u200b", "\u202e", "\u2066", "\ufeff", "\u00a0", "\u0338", "\u20dd", "\u3000", "\U000e0041"],
)
def test_invisible_and_decorating_characters_in_a_username_are_refused(api, bad):
    name = unique("carol")
    response = create(api, username=f"{name[:3]}{bad}{name[3:]}")
    assert response.status_code == 400, (bad, response.text)
    assert response.json()["id"] == "users-username-format", response.text
    assert f"U+{ord(bad):04X}" in response.json()["detail"]


@pytest.mark.parametrize("bad", ["\u200b", "\u202e", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_invisible_and_bidi_characters_in_an_email_are_refused(api, new_user, bad):
    response = create(api, email=f"alice{bad}@example.com")
    assert response.status_code == 400 and response.json()["id"] == "users-email-format"
    assert f"U+{ord(bad):04X}" in response.json()["detail"], response.text
    account, _ = new_user()
    response = api("Update", id=account["id"], email=f"alice{bad}@example.com")
    assert response.status_code == 400 and response.json()["id"] == "users-email-format"


def test_look_alike_email_local_parts_are_refused(api, alice):
    local, domain = alice["email"].split("@")
    response = create(api, email=f"{CYRILLIC_A}{local[1:]}@{domain}")
    assert response.status_code == 400 and response.json()["id"] == "users-email-check"
    response = create(api, email=f"a\u0301{local[1:]}@{domain}")
    assert response.status_code == 400 and response.json()["id"] == "users-email-check"
    # Fullwidth would name another mailbox: refused as a format, never mapped.
    response = create(api, email=f"{fullwidth(local)}@{domain}")
    assert response.status_code == 400 and response.json()["id"] == "users-email-format"
    # Another domain is another address.
    assert create(api, email=f"{CYRILLIC_A}{local[1:]}@other.example").status_code == 200


def test_look_alikes_are_refused_on_update(api, alice, new_user):
    account, _ = new_user()
    name = alice["username"]
    local, domain = alice["email"].split("@")
    for fields, check in (
        ({"username": CYRILLIC_A + name[1:]}, "users-username-check"),
        ({"username": fullwidth(name)}, "users-username-check"),
        ({"username": "a\u0301" + name[1:]}, "users-username-check"),
        ({"username": name + "\u200b"}, "users-username-format"),
        ({"email": f"{CYRILLIC_A}{local[1:]}@{domain}"}, "users-email-check"),
        ({"email": f"{local}\u202e@{domain}"}, "users-email-format"),
    ):
        response = api("Update", id=account["id"], **fields)
        assert response.status_code == 400, (fields, response.text)
        assert response.json()["id"] == check, (fields, response.text)
    assert api.ok("Read", id=account["id"])["account"]["username"] == account["username"]


def test_racing_look_alikes_one_wins(api):
    name = unique("dave")
    variants = [name, CYRILLIC_A.join(name.split("a", 1)), fullwidth(name), name.upper()]

    def attempt(username: str) -> httpx.Response:
        with httpx.Client(base_url=str(api.http.base_url), headers=api.http.headers) as client:
            return client.post(
                "/v1/user/Create",
                json={
                    "username": username,
                    "email": f"{unique()}@example.com",
                    "password": PASSWORD,
                },
            )

    with ThreadPoolExecutor(len(variants)) as pool:
        responses = list(pool.map(attempt, variants * 2))
    assert sorted(r.status_code for r in responses) == [200] + [400] * (len(responses) - 1)


def migrate_with_collisions(url: str) -> list[tuple]:
    """Rows written before 0005 that collide by skeleton: the older keeps it."""
    upgrade(url, "0004")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    insert = text(
        "INSERT INTO accounts (namespace, id, username, email, password_hash, created, updated,"
        " verified, verification_date, profile)"
        " VALUES ('ns', :id, :username, :email, 'x', :created, 0, false, 0, '{}')"
    )
    with engine.begin() as conn:
        conn.execute(
            insert, {"id": "old", "username": "alice", "email": "alice@example.com", "created": 1}
        )
        conn.execute(
            insert,
            {
                "id": "new",
                "username": CYRILLIC_A + "lice",
                "email": CYRILLIC_A + "lice@example.com",
                "created": 2,
            },
        )
        conn.execute(
            text(
                "INSERT INTO roles (namespace, name, description, created)"
                " VALUES ('ns', 'admin', '', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO role_grants (namespace, account_type, account_id, role,"
                " created) VALUES ('ns', 'user', 'deleted-admin', 'admin', 0)"
            )
        )
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, username_skeleton, email_skeleton FROM accounts ORDER BY created")
        ).all()
        used = conn.execute(text("SELECT id FROM used_account_ids ORDER BY id")).scalars().all()
        grants = conn.execute(text("SELECT count(*) FROM role_grants")).scalar()
    engine.dispose()
    assert used == ["deleted-admin", "new", "old"]
    assert grants == 0
    return [tuple(row) for row in rows]


OLDER_KEEPS = [("old", "alice", "alice@example.com"), ("new", None, None)]


def test_the_migration_keeps_the_older_of_colliding_rows_sqlite(tmp_path):
    assert migrate_with_collisions(f"sqlite:///{tmp_path / 'm.db'}") == OLDER_KEEPS


def test_the_migration_keeps_the_older_of_colliding_rows_postgres(postgres_url):
    assert migrate_with_collisions(postgres_url) == OLDER_KEEPS
