"""Subject pseudonyms: keyed hashes that only the site key links back to a subject."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pytest

from instrument.pseudonym import load_site_key, pseudonymise

KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def test_pseudonym_is_the_hmac_of_the_id_under_the_site_key(monkeypatch):
    monkeypatch.setenv("NIRPOCT_PSEUDONYM_KEY", KEY_HEX)
    expected = hmac.new(bytes.fromhex(KEY_HEX), b"QL-000123", hashlib.sha256).hexdigest()[:20]
    assert pseudonymise("QL-000123", load_site_key()) == "sub-" + expected
    other_key = bytes.fromhex(KEY_HEX[::-1])
    assert pseudonymise("QL-000123", other_key) != pseudonymise("QL-000123", load_site_key())
    assert pseudonymise("", load_site_key()) == ""


def test_new_key_file_is_private_and_stable(tmp_path, monkeypatch):
    key_file = tmp_path / "site" / "pseudonym.key"
    monkeypatch.setenv("NIRPOCT_KEY_FILE", str(key_file))
    first = load_site_key()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_site_key() == first and len(first) == 32


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NIRPOCT_PSEUDONYM_KEY", "not-hex", "must be a hex string"),
        ("NIRPOCT_PSEUDONYM_KEY", "abcd", "at least 16 bytes"),
    ],
)
def test_malformed_key_is_named(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=message):
        load_site_key()


def test_malformed_key_file_is_named(tmp_path, monkeypatch):
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("zz")
    monkeypatch.setenv("NIRPOCT_KEY_FILE", str(key_file))
    with pytest.raises(ValueError, match=f"key file {key_file} does not hold a hex key"):
        load_site_key()
