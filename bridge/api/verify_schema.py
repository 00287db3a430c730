"""The verification report (version 1) as pydantic models: the schema ``POST /api/v1/verify`` declares,
from which the OpenAPI description is generated, and against which tests check real reports.

The report itself is built by :func:`bridge.verify.verify_credential` (docs/verification-report.md).
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["valid", "indeterminate", "invalid"]
Indication = Literal["TOTAL_PASSED", "INDETERMINATE", "TOTAL_FAILED"]
SubIndication = Literal[
    "FORMAT_FAILURE", "HASH_FAILURE", "SIG_CRYPTO_FAILURE", "REVOKED", "ISSUER_MISMATCH", "NOT_CONFORMANT",
    "CREDENTIAL_REVOKED", "NOT_ISSUED_HERE_AS_SHOWN", "NO_CERTIFICATE_CHAIN_FOUND", "OUT_OF_BOUNDS_NO_POE",
    "REVOKED_NO_POE", "TRY_LATER", "CHAIN_CONSTRAINTS_FAILURE", "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
    "TIMESTAMP_ORDER_FAILURE", "SIG_CONSTRAINTS_FAILURE", "CONTENT_NOT_CHECKED",
]
_STRICT = ConfigDict(extra="forbid")


class CertificateFacts(BaseModel):
    model_config = _STRICT
    subject: str
    organization_identifier: str | None
    organization_name: str | None
    country: str | None
    issuer: str
    serial_number: str | None = Field(description="hexadecimal")
    not_before: str
    not_after: str


class Trust(BaseModel):
    model_config = _STRICT
    anchors: str | None = Field(description="what was trusted (a path), or null: none configured")
    chain_trusted: bool | None
    chain: list[str] = Field(description="subject names, leaf to anchor")


class TimestampFacts(BaseModel):
    model_config = _STRICT
    kind: Literal["content", "signature", "archive"]
    time: str | None
    tsa: str | None
    covers_data: bool | None
    trusted: bool | None = Field(description="the TSA chains to the anchors (null: not judged)")
    problem: str | None


class Seal(BaseModel):
    """The seal alone, as ``sealer.validation`` judges it."""

    model_config = _STRICT
    format: Literal["JAdES", "XAdES", "unsealed", "unknown"]
    level: Literal["B-B", "B-T", "B-LT", "B-LTA"] | None
    algorithm: str | None
    verdict: Verdict
    indication: Indication
    sub_indication: SubIndication | None
    signature_intact: bool
    signing_time_claimed: str | None
    proof_of_existence: str | None = Field(description="earliest time a trusted time-stamp proves")
    validation_time: str | None
    certificate: CertificateFacts | None
    trust: Trust
    timestamps: list[TimestampFacts]
    revocation: dict[str, str | None] = Field(
        description="status: good | revoked | unknown | not_declared | not_checked; source: embedded | fetched")
    qualification: dict[str, object] | None
    errors: list[str]
    warnings: list[str]


class IssuerCheck(BaseModel):
    model_config = _STRICT
    eidas_identifier: str | None = Field(description="issuer.eIDASIdentifier of the credential")
    sealer_identifier: str | None = Field(description="organizationIdentifier of the seal certificate")
    matches_sealer: bool


class Content(BaseModel):
    model_config = _STRICT
    conforms: bool | None
    checked: bool
    messages: list[str]


class VerificationReport(BaseModel):
    """Verification report, version 1: an ETSI EN 319 102-1 verdict and the facts behind it. The same
    report backs the /verify page and ``edc-bridge verify --json``."""

    model_config = _STRICT
    report_version: Literal["1"]
    verdict: Verdict
    indication: Indication
    sub_indication: SubIndication | None
    ok: bool = Field(description="true only for valid")
    refused: bool = Field(description="the upload is not a credential file at all (the API answers 422)")
    seal: Seal | None
    issuer: IssuerCheck | None
    content: Content
    revocation: dict[str, object] = Field(description="revocation by this service of credentials it issued")
    credential: dict[str, object] | None = Field(
        description="recognition summary; null unless the seal vouches for the content unambiguously")
    errors: list[str]
    warnings: list[str]
