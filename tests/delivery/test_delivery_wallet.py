"""WalletClient against a local server implementing the Europass wallet deposit contract (EDC 2.2.x v2
and, as a setting, EDC 2.0.x v1)."""
from __future__ import annotations

import logging

import pytest

from bridge.delivery.errors import DeliveryInputError, PermanentDeliveryError, TransientDeliveryError
from bridge.delivery.wallet import NoWalletError, WalletClient, WalletResult
from tests.fakes.wallet import Forced, WalletStub

from .conftest import make_sealed

EMAIL = "camille+edc@example.org"


def client(stub, **kwargs) -> WalletClient:
    stub.open_wallet(EMAIL)
    return WalletClient(stub.base_url, kwargs.pop("timeout", 5.0), **kwargs)


def test_deposit_delivers_and_returns_the_viewer_url(wallet_stub, sealed_bytes):
    result = client(wallet_stub).deposit(EMAIL, sealed_bytes, "credential-1", locale="fr-BE")
    [request] = wallet_stub.requests
    assert result.status == "delivered"
    assert result.viewer_url is not None
    assert result.viewer_url.startswith(f"{wallet_stub.base_url}/wallet/credentials/")
    assert request.raw_path == "/api/v2/credentials"
    assert request.email == EMAIL
    assert request.query == {"userEmail": [EMAIL], "sendEmail": ["true"], "locale": ["fr"]}
    assert request.requested_with == "XMLHttpRequest"
    assert request.part_name == "_credential"
    assert request.filename == "credential-1.jsonld"
    assert request.content_type == "application/ld+json"
    assert request.data == sealed_bytes
    assert request.authorization is None


def test_second_deposit_of_the_same_credential_counts_as_delivered(wallet_stub, sealed_bytes):
    wallet = client(wallet_stub)
    assert wallet.deposit(EMAIL, sealed_bytes, "c").status == "delivered"
    assert wallet.deposit(EMAIL, sealed_bytes, "c") == WalletResult("already_present", None)
    other = make_sealed()
    assert wallet.deposit(EMAIL, other, "c").status == "delivered"
    assert len(wallet_stub.stored) == 2


def test_send_email_flag_and_bearer_token(wallet_stub, sealed_bytes):
    wallet_stub.required_token = "tok-3f9a-secret"
    wallet = client(wallet_stub, bearer_token="tok-3f9a-secret")
    assert wallet.deposit(EMAIL, sealed_bytes, "c", send_email=False).status == "delivered"
    assert wallet_stub.requests[0].query["sendEmail"] == ["false"]
    assert wallet_stub.requests[0].authorization == "Bearer tok-3f9a-secret"
    assert "tok-3f9a-secret" not in repr(wallet)


def test_refused_token_is_permanent_without_showing_it(wallet_stub, sealed_bytes):
    wallet_stub.required_token = "the-right-token"
    with pytest.raises(PermanentDeliveryError) as info:
        client(wallet_stub, bearer_token="a-wrong-token").deposit(EMAIL, sealed_bytes, "c")
    assert info.value.code == 401
    assert "token" in str(info.value) and "a-wrong-token" not in str(info.value)


def test_legacy_xml_goes_in_the_credentialxml_part(wallet_stub):
    xml = b'<?xml version="1.0"?><vp:verifiablePresentation xmlns:vp="http://data.europa.eu/snb" id="urn:x:1"/>'
    result = client(wallet_stub).deposit(EMAIL, xml, "legacy", xml=True)
    [request] = wallet_stub.requests
    assert result.status == "delivered"
    assert (request.part_name, request.filename, request.content_type) == (
        "_credentialXML", "legacy.xml", "application/xml"
    )
    assert request.data == xml


def test_invalid_credential_is_permanent_with_the_wallets_reason(wallet_stub, caplog):
    caplog.set_level(logging.DEBUG, logger="bridge")
    with pytest.raises(PermanentDeliveryError) as info:
        client(wallet_stub).deposit(EMAIL, b"{not json", "broken")
    assert info.value.code == 400
    assert "Not a valid credential" in str(info.value)
    assert EMAIL not in str(info.value)  # the wallet echoed the address; it is redacted
    assert EMAIL not in caplog.text


def test_no_wallet_for_the_address_is_not_retried(wallet_stub, sealed_bytes):
    wallet = WalletClient(wallet_stub.base_url, 5.0)  # nobody opened a wallet with this address
    with pytest.raises(NoWalletError) as info:
        wallet.deposit("nobody@example.org", sealed_bytes, "c")
    assert info.value.code == 404 and info.value.result == {"wallet_status": "no_wallet"}
    assert "example.org" not in str(info.value)
    assert wallet_stub.stored == {}


def test_v1_path_as_a_setting_creates_a_temporary_wallet(wallet_stub, sealed_bytes):
    wallet = WalletClient(wallet_stub.base_url, 5.0, api="v1")
    assert wallet.deposit("new@example.org", sealed_bytes, "c").status == "delivered"
    [request] = wallet_stub.requests
    assert request.raw_path == "/api/v1/wallets/email/new%40example.org/credentials"
    assert request.query == {"sendEmail": ["true"], "locale": ["en"]}
    assert request.requested_with == "XMLHttpRequest"


def test_wrong_endpoint_is_permanent_and_says_what_to_check(sealed_bytes):
    with WalletStub(prefix="/europass") as stub:
        with pytest.raises(PermanentDeliveryError, match="EDC_WALLET_URL") as info:
            WalletClient(stub.base_url.removesuffix("/europass"), 5.0).deposit(EMAIL, sealed_bytes, "c")
    assert not isinstance(info.value, NoWalletError)


def test_without_the_ajax_header_the_wallet_redirects_to_its_login(wallet_stub, sealed_bytes):
    """What EDC's login filter does to a non-AJAX call: our client never follows it."""
    import requests
    wallet_stub.open_wallet(EMAIL)
    answer = requests.post(f"{wallet_stub.base_url}/api/v2/credentials", params={"userEmail": EMAIL},
                           files={"_credential": ("c.jsonld", sealed_bytes)}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert wallet_stub.stored == {}


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_transient(wallet_stub, sealed_bytes, status):
    wallet_stub.forced.append(Forced(status, body={"message": "down"}))
    with pytest.raises(TransientDeliveryError) as info:
        client(wallet_stub).deposit(EMAIL, sealed_bytes, "c")
    assert info.value.code == status
    assert info.value.retry_after is None


def test_retry_after_is_passed_on(wallet_stub, sealed_bytes):
    wallet_stub.forced.append(Forced(503, headers={"Retry-After": "120"}))
    with pytest.raises(TransientDeliveryError) as info:
        client(wallet_stub).deposit(EMAIL, sealed_bytes, "c")
    assert info.value.retry_after == 120
    # ...and the same deposit goes through once the wallet is back.
    assert client(wallet_stub).deposit(EMAIL, sealed_bytes, "c").status == "delivered"


def test_unexpected_client_error_is_permanent(wallet_stub, sealed_bytes):
    wallet_stub.forced.append(Forced(413, body={"message": "file too large"}))
    with pytest.raises(PermanentDeliveryError, match="file too large"):
        client(wallet_stub).deposit(EMAIL, sealed_bytes, "c")


def test_slow_wallet_times_out_as_transient(wallet_stub, sealed_bytes, caplog):
    wallet_stub.delay = 2.0
    caplog.set_level(logging.DEBUG, logger="bridge")
    with pytest.raises(TransientDeliveryError, match="did not answer in time") as info:
        client(wallet_stub, timeout=0.3).deposit(EMAIL, sealed_bytes, "c")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "example.org" not in caplog.text


def test_unreachable_wallet_is_transient(closed_port, sealed_bytes):
    wallet = WalletClient(f"http://127.0.0.1:{closed_port}", 5.0)
    with pytest.raises(TransientDeliveryError, match="cannot reach the wallet") as info:
        wallet.deposit(EMAIL, sealed_bytes, "c")
    assert "example.org" not in str(info.value)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"email": "not-an-address"}, "email"),
    ({"sealed_bytes": b""}, "sealed_bytes"),
    ({"filename": "../etc/passwd"}, "filename"),
    ({"locale": "fr/../x"}, "locale"),
])
def test_bad_arguments_name_the_field_and_send_nothing(wallet_stub, sealed_bytes, kwargs, field):
    args = {"email": EMAIL, "sealed_bytes": sealed_bytes, "filename": "c", **kwargs}
    with pytest.raises(DeliveryInputError) as info:
        client(wallet_stub).deposit(**args)
    assert info.value.field == field
    assert wallet_stub.requests == []


@pytest.mark.parametrize(("base_url", "timeout", "field"), [
    ("ftp://wallet.example", 5, "base_url"),
    ("wallet.example", 5, "base_url"),
    ("https://wallet.example", 0, "timeout"),
])
def test_bad_client_settings(base_url, timeout, field):
    with pytest.raises(DeliveryInputError) as info:
        WalletClient(base_url, timeout)
    assert info.value.field == field
    with pytest.raises(DeliveryInputError) as info:
        WalletClient("https://wallet.example", 5, api="v3")
    assert info.value.field == "api"


def test_base_url_with_a_path_prefix_and_trailing_slash(sealed_bytes):
    with WalletStub(prefix="/europass/eportfolio") as stub:
        stub.open_wallet(EMAIL)
        wallet = WalletClient(stub.base_url + "/", 5.0)
        assert wallet.deposit(EMAIL, sealed_bytes, "c").status == "delivered"
        assert stub.requests[0].raw_path == "/europass/eportfolio/api/v2/credentials"
