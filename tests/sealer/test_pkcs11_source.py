"""PKCS#11 key source against a real SoftHSM2 token whose keys were generated on the token."""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import traceback

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import exceptions as p11err
from softhsm import SoftHsm

from sealer.keys import KeySourceError, UnsupportedAlgorithm
from sealer.keys import pkcs11 as pkcs11_source
from sealer.keys.pkcs11 import Pkcs11KeySource, login_error, resolve_pin

WRONG_PIN = "WRONG-pin-zz81x-distinctive"


def verify(source: Pkcs11KeySource, data: bytes, signature: bytes, alg: str) -> None:
    """Raise InvalidSignature unless ``signature`` is a valid JOSE ``alg`` signature by the certificate."""
    public = source.certificate.public_key()
    if alg == "ES256":
        assert len(signature) == 64
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        der = encode_dss_signature(r, s)
        public.verify(der, data, ec.ECDSA(hashes.SHA256()))
    elif alg == "PS256":
        public.verify(signature, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                      hashes.SHA256())
    else:
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def open_source(hsm: SoftHsm, name: str, **kwargs) -> Pkcs11KeySource:
    key = hsm.keys[name]
    kwargs.setdefault("pin", hsm.user_pin)
    return Pkcs11KeySource(hsm.module, key.token_label, key.key_label, **kwargs)


@pytest.mark.parametrize(("name", "algs", "refused"), [("rsa", ("RS256", "PS256"), "ES256"),
                                                      ("ec", ("ES256",), "RS256")])
def test_token_keys_sign_in_jose_form(
    softhsm: SoftHsm, name: str, algs: tuple[str, ...], refused: str
) -> None:
    source = open_source(softhsm, name)
    assert source.certificate == softhsm.keys[name].certificate  # read from the token's certificate object
    assert source.key_type == softhsm.keys[name].key_type
    data = b'{"credential": "payload"}'
    for alg in algs:
        verify(source, data, source.sign(data, alg), alg)
    with pytest.raises(UnsupportedAlgorithm):
        source.sign(data, refused)


def test_pss_signatures_are_randomised_but_all_verify(softhsm: SoftHsm) -> None:
    source = open_source(softhsm, "rsa")
    first, second = source.sign(b"x", "PS256"), source.sign(b"x", "PS256")
    assert first != second  # a 32-byte random salt, not PKCS#1 v1.5 under another name
    verify(source, b"x", first, "PS256")
    verify(source, b"x", second, "PS256")


def test_key_without_certificate_object_needs_a_certificate_file(softhsm: SoftHsm, tmp_path) -> None:
    with pytest.raises(KeySourceError, match="no certificate labelled 'bare'.*EDC_SEAL_PKCS11_CERT"):
        open_source(softhsm, "rsa-bare")
    bare = softhsm.keys["rsa-bare"]
    der_path = tmp_path / "bare.der"
    der_path.write_bytes(bare.certificate.public_bytes(serialization.Encoding.DER))
    for given in (bare.certificate_path, der_path, bare.certificate):
        source = open_source(softhsm, "rsa-bare", certificate=given)
        assert source.certificate == bare.certificate
        verify(source, b"data", source.sign(b"data", "RS256"), "RS256")


def test_certificate_of_another_key_is_refused(softhsm: SoftHsm) -> None:
    with pytest.raises(KeySourceError, match="does not belong to key 'bare'"):
        open_source(softhsm, "rsa-bare", certificate=softhsm.keys["rsa"].certificate_path)
    with pytest.raises(KeySourceError, match="different key type"):
        open_source(softhsm, "rsa", certificate=softhsm.keys["ec"].certificate)


def test_unknown_token_lists_the_labels_that_exist(softhsm: SoftHsm) -> None:
    with pytest.raises(KeySourceError) as err:
        Pkcs11KeySource(softhsm.module, "no-such-token", "seal", pin=softhsm.user_pin)
    message = str(err.value)
    assert "no token labelled 'no-such-token'" in message
    for label in ("'edc-rsa'", "'edc-ec'", "'edc-pin'"):
        assert label in message


def test_unknown_key_lists_the_private_keys_on_the_token(softhsm: SoftHsm) -> None:
    expected = r"no private key labelled 'sael' on token 'edc-rsa'.*'bare', 'seal'"
    with pytest.raises(KeySourceError, match=expected):
        Pkcs11KeySource(softhsm.module, "edc-rsa", "sael", pin=softhsm.user_pin)


def test_missing_and_unloadable_modules_are_named(tmp_path) -> None:
    with pytest.raises(KeySourceError, match="PKCS#11 module not found: .*absent.so"):
        Pkcs11KeySource(tmp_path / "absent.so", "t", "k", pin="1234")
    not_a_library = tmp_path / "libfake.so"
    not_a_library.write_text("not ELF")
    with pytest.raises(KeySourceError, match="cannot load PKCS#11 module .*libfake.so"):
        Pkcs11KeySource(not_a_library, "t", "k", pin="1234")


def test_wrong_pin_is_reported_and_no_pin_ever_leaks(softhsm: SoftHsm, caplog, monkeypatch) -> None:
    """The only test that logs in to ``edc-pin``: login state is shared by the whole process."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(KeySourceError) as wrong:
        open_source(softhsm, "pin", pin=WRONG_PIN)
    assert "wrong PIN for token 'edc-pin'" in str(wrong.value)

    monkeypatch.setenv("EDC_TEST_TOKEN_PIN", softhsm.user_pin)
    source = open_source(softhsm, "pin", pin=None, pin_env="EDC_TEST_TOKEN_PIN")
    verify(source, b"ok", source.sign(b"ok", "RS256"), "RS256")
    again = open_source(softhsm, "pin", pin=None, pin_file=softhsm.pin_file())
    assert again.certificate == source.certificate

    # The token is now logged in; a different PIN must still be refused, not silently accepted.
    with pytest.raises(KeySourceError) as differs:
        open_source(softhsm, "pin", pin=None, pin_file=softhsm.pin_file(WRONG_PIN))
    assert "wrong PIN" in str(differs.value)

    texts = [caplog.text, repr(source), str(source), repr(source.__dict__), repr(again.__dict__)]
    for err in (wrong, differs):
        texts.append("".join(traceback.format_exception(err.value)))
    for text in texts:
        assert softhsm.user_pin not in text
        assert WRONG_PIN not in text
    assert "opened" in caplog.text  # the log was captured at all


@pytest.mark.parametrize(("error", "expected"), [
    (p11err.PinLocked, "locked after too many wrong attempts"),
    (p11err.PinExpired, "has expired"),
    (p11err.PinIncorrect, "CKR_PIN_INCORRECT"),
    (p11err.UserAlreadyLoggedIn, "already logged in by other code"),
    (p11err.DeviceError, "DeviceError"),
])
def test_login_errors_are_explained(error: type[p11err.PKCS11Error], expected: str) -> None:
    # SoftHSM2 never locks or expires a PIN, so these codes are fed to the translation directly.
    assert expected in str(login_error("hsm-1", error()))
    assert "'hsm-1'" in str(login_error("hsm-1", error()))


def test_pin_comes_from_exactly_one_place(tmp_path) -> None:
    with pytest.raises(KeySourceError, match="exactly one way"):
        resolve_pin()
    with pytest.raises(KeySourceError, match=r"exactly one way.*pin, pin_file"):
        resolve_pin(pin="1", pin_file=tmp_path / "p")
    with pytest.raises(KeySourceError, match="EDC_NOT_SET_PIN_VAR .*is not set"):
        resolve_pin(pin_env="EDC_NOT_SET_PIN_VAR", environ={})
    with pytest.raises(KeySourceError, match="cannot read PIN file"):
        resolve_pin(pin_file=tmp_path / "absent")
    pin_file = tmp_path / "pin"
    pin_file.write_text("  4711 \nsecond line\n")
    assert resolve_pin(pin_file=pin_file).reveal() == "4711"
    assert resolve_pin(pin_env="P", environ={"P": "99"}).reveal() == "99"
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(KeySourceError, match="empty"):
        resolve_pin(pin_file=empty)
    assert "4711" not in repr(resolve_pin(pin="4711")) + str(resolve_pin(pin="4711"))


def test_many_threads_sign_concurrently(softhsm: SoftHsm) -> None:
    sources = [open_source(softhsm, "rsa"), open_source(softhsm, "ec")]
    results: list[tuple[Pkcs11KeySource, bytes, bytes, str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(10)

    def work(index: int) -> None:
        source = sources[index % 2]
        alg = ("RS256", "PS256")[index % 4 // 2] if source.key_type == "RSA" else "ES256"
        try:
            start.wait()
            for round_ in range(30):
                data = f"thread {index} round {round_}".encode()
                results.append((source, data, source.sign(data, alg), alg))
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 300
    for source, data, signature, alg in results:
        verify(source, data, signature, alg)


def _sign_in_child(source: Pkcs11KeySource, connection) -> None:
    try:
        signature = source.sign(b"from the child", "ES256")
        module = pkcs11_source._module(source.module_path)
        connection.send((signature, module.pid == os.getpid(), None))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        connection.send((None, False, repr(exc)))
    finally:
        connection.close()


def test_forked_child_reinitialises_and_signs(softhsm: SoftHsm) -> None:
    source = open_source(softhsm, "ec")
    verify(source, b"parent first", source.sign(b"parent first", "ES256"), "ES256")
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_sign_in_child, args=(source, sender))
    child.start()
    sender.close()
    signature, reinitialised, error = receiver.recv()
    child.join()
    assert error is None
    assert child.exitcode == 0
    assert reinitialised
    verify(source, b"from the child", signature, "ES256")
    verify(source, b"parent after", source.sign(b"parent after", "ES256"), "ES256")


def test_lost_session_is_reopened(softhsm: SoftHsm) -> None:
    source = open_source(softhsm, "rsa")
    module = pkcs11_source._module(source.module_path)
    with module.lock:
        session, _ = module.sessions["edc-rsa"]
        session.close()  # what an HSM restart or a network drop does to the session
    verify(source, b"after", source.sign(b"after", "RS256"), "RS256")
    assert module.sessions["edc-rsa"][0] is not session


def test_another_spelling_of_the_module_path_shares_the_loaded_module(softhsm: SoftHsm) -> None:
    first = open_source(softhsm, "ec")
    resolved = os.path.realpath(softhsm.module)
    second = Pkcs11KeySource(resolved, "edc-ec", "seal", pin=softhsm.user_pin)
    assert pkcs11_source._module(resolved) is pkcs11_source._module(first.module_path)
    verify(second, b"data", second.sign(b"data", "ES256"), "ES256")
