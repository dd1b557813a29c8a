"""Exact values of the one masking module (mock_server/server/secrets.py). tests/server/test_secrets.py proves,
property-based, that no piece of a key leaks; this file pins WHAT is shown instead, from the rule
in its docstring and the README: each end shows a quarter of the key, at most 4 characters, and
under 8 characters nothing ('…'); every encoded form of a key is masked alike."""

from __future__ import annotations

import base64
import hashlib

import pytest

from mock_server.server import secrets
from mock_server.server.secrets import (
    bearer_key,
    digest,
    fragment_chars,
    mask,
    mask_bytes_excerpt,
    mask_data,
    mask_excerpt,
    mask_text,
    plain,
    same_key,
    url_secrets,
)


@pytest.fixture(autouse=True)
def fresh_patterns() -> None:
    """Each key's pattern is built here, not taken from a cache an earlier test filled."""
    secrets._pattern.cache_clear()


def at(userinfo: str, rest: str) -> str:
    """A URL with credentials, put together here (no literal one in the repository)."""
    return "http://" + userinfo + "@" + rest


KEY = "sk_live_0123456789abcdef"  # 24 characters: a quarter is 6, capped at 4 each end
SHOWN = "sk_l…cdef"


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("", ""),
        (None, ""),
        ("a", "…"),
        ("abcdefg", "…"),  # 7: a quarter is 1, under the 2 the rule needs
        ("abcdefgh", "ab…gh"),  # 8: 2 each end
        ("abcdefghijk", "ab…jk"),  # 11: still 2
        ("abcdefghijkl", "abc…jkl"),  # 12: 3
        ("abcdefghijklmno", "abc…mno"),  # 15: 3
        ("abcdefghijklmnop", "abcd…mnop"),  # 16: 4
        ("sk_mock_demo", "sk_…emo"),  # the README's demo key
        (KEY, SHOWN),
        ("x" * 400 + "END!", "xxxx…END!"),  # never more than 4
    ],
)
def test_mask(key: str | None, shown: str) -> None:
    assert mask(key) == shown


def test_digest_is_sha256_of_the_utf8_key() -> None:
    assert digest("abc") == hashlib.sha256(b"abc").digest()
    assert (
        digest("é\ud800") == hashlib.sha256("é".encode() + b"\xed\xa0\x80").digest()
    )  # a lone surrogate does not raise
    assert same_key(digest(KEY), KEY) is True
    assert same_key(digest(KEY), KEY.upper()) is False


@pytest.mark.parametrize(
    ("header", "key"),
    [
        (None, None),
        ("", None),
        ("Bearer abc", "abc"),
        ("  Bearer abc \t", "abc"),
        ("bearer abc", None),
        ("Bearer  abc", None),
        ("Bearer ", None),
        ("Basic abc", None),
        ("Bearer a b", None),
        ("Bearer " + "k" * 512, "k" * 512),
        ("Bearer " + "k" * 513, None),
        ("Bearer ké", None),
    ],
)
def test_bearer_key(header: str | None, key: str | None) -> None:
    assert bearer_key(header) == key


@pytest.mark.parametrize(
    ("key", "size"), [(KEY, 8), ("x" * 100, 8), ("abcdefgh", 6), ("abcde", 5), ("abc", 3), ("abcdefghijkl", 7)]
)
def test_fragment_chars_is_4_more_than_the_mask_shows(key: str, size: int) -> None:
    assert fragment_chars(key) == size


def test_mask_text_as_is() -> None:
    assert mask_text(f"key={KEY}!", [KEY]) == f"key={SHOWN}!"
    assert mask_text(f"{KEY} {KEY}", ["", KEY]) == f"{SHOWN} {SHOWN}"
    assert mask_text("nothing here", [KEY]) == "nothing here"


SPECIAL = "sk_l{}ive0123456789x"  # 19 characters with `{}` one more: the mask is 'sk_l…789x' whatever the character


@pytest.mark.parametrize(
    ("char", "forms"),
    [
        (
            "/",
            [
                "%2F",
                "%2f",
                "%252F",
                "%25252F",
                "%2525252F",
                "\\/",
                "\\\\/",
                "\\u002F",
                "\\x2f",
                "&#47;",
                "&#0047;",
                "&#x2F;",
                "&#X2f;",
                "&#x002f;",
            ],
        ),
        ('"', ['\\"', "&quot;", "&QUOT;", "%22", "\\u0022"]),
        ("'", ["\\'", "&apos;", "&#39;"]),
        ("&", ["&amp;", "&AMP;", "%26"]),
        ("<", ["&lt;", "&LT;"]),
        (">", ["&gt;", "&GT;"]),
        ("ÿ", ["\\xff", "\\u00ff", "%C3%BF"]),
        ("\uffff", ["\\uffff", "%EF%BF%BF"]),
        ("\ud800", ["%ED%A0%80", "\\ud800"]),  # a lone surrogate: the key's own bytes, never an error
        ("\\", ["\\\\", "%5C", "\\x5c"]),
        ("é", ["%C3%A9", "\\u00e9", "\\xe9", "&#233;", "&#xe9;"]),
        ("€", ["%E2%82%AC", "\\u20ac", "&#8364;"]),
        ("😀", ["%F0%9F%98%80", "&#128512;", "&#x1f600;"]),
        ("+", [" "]),
        (" ", ["+"]),
    ],
)
def test_mask_text_every_encoded_form(char: str, forms: list[str]) -> None:
    key = SPECIAL.replace("{}", char)
    for form in forms:
        text = "x=" + key.replace(char, form) + ";"
        assert mask_text(text, [key]) == "x=sk_l…789x;", form


def test_mask_text_encoded_everywhere_at_once_and_backslashes_up_to_8() -> None:
    text = "\\u0073%6b&#95;live_0123456789abcde\\\\\\\\\\\\\\\\x66"
    assert mask_text(text, [KEY]) == SHOWN
    assert mask_text("\\" * 9 + "u0073" + KEY[1:], [KEY]) == "\\" + SHOWN  # the ninth is not part of the key
    assert mask_text("%252525252573" + KEY[1:], [KEY]) == "%252525252573" + KEY[1:]  # 5 times encoded: not a form
    assert mask_text("&#00000115;" + KEY[1:], [KEY]) == "&#00000115;" + KEY[1:]  # 5 leading zeros: not a form


def test_a_plus_or_space_alone_triggers_the_form_decoded_match() -> None:
    plus_key, spaced, plussed = (KEY.replace("_", c, 1) for c in "+ +")  # 'sk+live_…', 'sk live_…'
    space_key = spaced
    assert mask_text("q=" + spaced, [plus_key]) == "q=sk+l…cdef"
    assert mask_text("q=" + plussed, [space_key]) == "q=sk l…cdef"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer abcdefghijkl", "Authorization: Bearer abc…jkl"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic dXN…XNz"),
        ("Bearer\tabcdefgh, next", "Bearer\tab…h, next"),  # the token runs to the next space: 'abcdefgh,' (9)
        ("Bearer short", "Bearer …"),
        (f"Bearer {SHOWN}", f"Bearer {SHOWN}"),  # already masked: left alone
        ("Bearers of gifts", "Bearers of gifts"),
    ],
)
def test_credentials_in_free_text_are_masked_whole(text: str, masked: str) -> None:
    assert mask_text(text, []) == masked


def test_fragments_cut_by_someone_else() -> None:
    start, end = KEY[:12], KEY[-12:]  # longer than fragment_chars (8)
    text = f"a {start}… b …{end} c {KEY[:7]} d"
    assert mask_text(text, [KEY]) == text  # without fragments, only whole keys
    assert mask_text(text, [KEY], fragments=True) == f"a sk_l…… b ……cdef c {KEY[:7]} d"
    assert mask_text(f"x{KEY[:8]}", [KEY], fragments=True) == "xsk_l…"
    assert mask_text(f"{KEY[-8:]}y", [KEY], fragments=True) == "…cdefy"
    assert mask_text(f"{KEY}", [KEY], fragments=True) == SHOWN


def test_url_secrets() -> None:
    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    assert url_secrets(None) == []
    assert url_secrets("http://host:8080/path") == []
    assert url_secrets(at("user:secret12", "host/")) == ["user:secret12", b64("user:secret12"), "secret12"]
    assert url_secrets(at("us%40r:p%2Fss", "host/")) == [
        "us%40r:p%2Fss",
        "us@r:p/ss",
        b64("us@r:p/ss"),
        "p%2Fss",
        "p/ss",
    ]
    assert url_secrets(at("u:abc", "host/")) == ["u:abc", b64("u:abc")]  # a password under 4 only as part of the pair
    # a user alone (a token as the user name): it was a TypeError, a traceback from `dumpling-contract --base-url`
    assert url_secrets(at("token", "host/")) == ["token", "token:", b64("token:")]
    assert url_secrets(at("u:secret12", "host:port/")) == ["u:secret12", b64("u:secret12"), "secret12"]


def test_mask_excerpt_masks_before_the_cut() -> None:
    text = f"0123456789 {KEY} tail"
    assert mask_excerpt(text, [KEY], 15) == "0123456789 sk_l"
    assert mask_excerpt(text, [KEY], 100) == f"0123456789 {SHOWN} tail"
    long_prefix = "y" * 5000 + KEY
    assert mask_excerpt(long_prefix, [KEY], 5005) == "y" * 5000 + "sk_l…"


def test_mask_bytes_excerpt_cuts_at_bytes() -> None:
    assert mask_bytes_excerpt("abc", [KEY], 12) == "abc"
    assert mask_bytes_excerpt("abc", [KEY], 2) == "ab"
    assert mask_bytes_excerpt("é" * 10, [KEY], 5) == "éé\ufffd"
    assert mask_bytes_excerpt("é" * 2, [KEY], 8) == "éé"
    assert mask_bytes_excerpt(f"x {KEY}", [KEY, ""], 200) == f"x {SHOWN}"
    assert mask_bytes_excerpt(f"x {KEY}", [KEY], 4) == "x sk"


def test_mask_data() -> None:
    value = {"Authorization": "Bearer abcdefghijkl", KEY: ["a", 1, None, ("t",)], 3: "k%20"}
    assert mask_data(value, [KEY, ""]) == {"Authorization": "Bearer abc…jkl", SHOWN: ["a", 1, None, ["t"]], 3: "k%20"}
    assert mask_data({"s": "hello world", "t": "hi", "u": "hello"}, [], limit=5) == {
        "s": "hello…",
        "t": "hi",
        "u": "hello",
    }
    assert mask_data(f"{KEY} and more", [KEY], limit=9) == SHOWN + "…"
    assert mask_data(f"a {KEY}", [KEY], limit=100) == f"a {SHOWN}"
    assert mask_data("a%20b", [], limit=5) == "a%20b"


@pytest.mark.parametrize(
    ("text", "keys", "result"),
    [
        ("abc", (), True),
        ("abc", (KEY,), True),
        ("a%b", (), False),
        ("a\\b", (), False),
        ("a&b", (), False),
        ("x Bearer", (), False),
        ("x Basic", (), False),
        (f"x{KEY}", (KEY,), False),
        ("a b", ("k+y",), False),
        ("a+b", ("k y",), False),
        ("a b", ("key",), True),
        ("a+b", ("key",), True),
    ],
)
def test_plain(text: str, keys: tuple[str, ...], result: bool) -> None:
    assert plain(text, keys) is result


@pytest.mark.parametrize(
    ("char", "text"),
    [
        ("Ā", "\\x100"),  # \x takes two hex digits: this is U+0010 and '0'
        ("\U00010000", "\\u10000"),  # \u takes four: U+1000 and '0'
        ("a", "&APOS;"),
        ("a", "&Amp;"),
        ("X", "\\X"),  # a backslash escapes only quotes, slashes and backslashes
    ],
)
def test_what_is_not_an_encoded_form(char: str, text: str) -> None:
    key = SPECIAL.replace("{}", char)
    encoded = "x=" + key.replace(char, text)
    assert mask_text(encoded, [key]) == encoded


def test_fragments_each_one_and_as_far_as_it_goes() -> None:
    two_starts = f"A {KEY[:12]} B {KEY[:9]} C"
    assert mask_text(two_starts, [KEY], fragments=True) == "A sk_l… B sk_l… C"
    two_ends = f"A {KEY[-12:]} B {KEY[-9:]} C"
    assert mask_text(two_ends, [KEY], fragments=True) == "A …cdef B …cdef C"
    assert mask_text(f"{KEY[:11]}X", [KEY], fragments=True) == "sk_l…X"  # 'sk_live_012', then X
    assert mask_text(f"Y{KEY[-11:]}", [KEY], fragments=True) == "Y…cdef"  # '3456789abcdef' goes back to Y
    assert mask_text(f"Y{KEY[-12:]}", [KEY], fragments=True) == "Y…cdef"


def test_fragments_only_when_asked() -> None:
    cut = f"x {KEY[:10]}"
    assert mask_excerpt(cut, [KEY], 100) == cut
    assert mask_excerpt(cut, [KEY], 100, fragments=True) == "x sk_l…"
    assert mask_data(cut, [KEY], limit=100) == cut
    marked = f"a%20{KEY[:10]}"  # not plain: the masking path runs, still without fragments
    assert mask_data(marked, [KEY], limit=100) == marked


def test_mask_data_cuts_dict_keys_and_list_items_too() -> None:
    assert mask_data({"long key here": ["hello world", "ok"]}, [], limit=5) == {"long …": ["hello…", "ok"]}


def test_mask_bytes_excerpt_keeps_a_lone_surrogate_it_does_not_cut() -> None:
    assert mask_bytes_excerpt("%\ud800", [], 100) == "%\ud800"
    assert mask_bytes_excerpt("%\ud800", [], 4) == "%\ud800"  # 1 + 3 bytes: exactly the limit
    assert (
        mask_bytes_excerpt("a\ud800b" * 5, [], 4) == "a\ufffd\ufffd\ufffd"
    )  # the surrogate's 3 bytes, cut from the text, are not UTF-8


def test_url_secrets_edge_users() -> None:
    def b64(s: bytes) -> str:
        return base64.b64encode(s).decode()

    assert url_secrets(at(":secret12", "host/")) == [":secret12", b64(b":secret12"), "secret12"]
    # a lone surrogate cannot be sent: the Basic form has '?' where an HTTP client could not encode it
    assert url_secrets(at("u:se\ud800cret", "host/")) == ["u:se\ud800cret", b64(b"u:se?cret"), "se\ud800cret"]
