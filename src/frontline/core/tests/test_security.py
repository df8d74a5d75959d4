"""Settings, environment parsing, encryption and masking."""

import importlib

import pytest

from frontline import env
from frontline.core.crypto import decrypt, encrypt, mask_id_number, mask_name, mask_phone
from frontline.core.services import is_valid_id_number


def test_production_hasher_is_argon2():
    module = importlib.import_module("frontline.settings")
    assert module.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_env_helpers_fail_loudly(monkeypatch):
    monkeypatch.setenv("FL_FLAG", "perhaps")
    with pytest.raises(env.ConfigurationError, match="FL_FLAG"):
        env.env_bool("FL_FLAG", False)
    monkeypatch.setenv("FL_NUMBER", "ten")
    with pytest.raises(env.ConfigurationError, match="FL_NUMBER"):
        env.env_int("FL_NUMBER", 1)
    monkeypatch.setenv("FL_NUMBER", "0")
    with pytest.raises(env.ConfigurationError, match="at least"):
        env.env_int("FL_NUMBER", 1, minimum=1)
    monkeypatch.delenv("FL_MISSING", raising=False)
    with pytest.raises(env.ConfigurationError, match="FL_MISSING"):
        env.env_str("FL_MISSING")
    monkeypatch.setenv("FL_LIST", "a, b,,c")
    assert env.env_list("FL_LIST", []) == ["a", "b", "c"]


def test_kept_secret_is_created_once(tmp_path, monkeypatch):
    monkeypatch.delenv("FL_SECRET", raising=False)
    path = tmp_path / "secret"
    first = env.kept_secret("FL_SECRET", path, generate=env.new_secret_key)
    assert env.kept_secret("FL_SECRET", path, generate=env.new_secret_key) == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("FL_SECRET", "from-env")
    assert env.kept_secret("FL_SECRET", path, generate=env.new_secret_key) == "from-env"


def test_encryption_round_trip_and_tamper_detection():
    sealed = encrypt("330603199001011238")
    assert sealed != encrypt("330603199001011238")  # fresh nonce each time
    assert decrypt(sealed) == "330603199001011238"
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(Exception):  # noqa: B017 - any failure is right, silence is not
        decrypt(tampered)


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("330603199001011238") == "330603********1238"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("") == ""


def test_id_number_check_digit():
    assert is_valid_id_number("330603199001011238")
    assert not is_valid_id_number("330603199001011239")
    assert not is_valid_id_number("33060319900101123")
