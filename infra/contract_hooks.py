"""Schemathesis hooks for the contract run's second pass (infra/contract.sh loads them with
SCHEMATHESIS_HOOKS): what a configuration file cannot pin.

  - paymentWebhook: every request is signed as the provider would sign it, over the exact raw body
    sent (`t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`: `X-Signature` with the stage's
    sandbox secret for /sandbox, `Stripe-Signature` with its Stripe secret for /stripe). The
    secrets come from the local stack's Secrets Manager (CONTRACT_WEBHOOK_SECRETS, a file of the
    run's temporary folder).
    A schema-valid event goes to the provider whose event it is (the body's schema is an
    `anyOf` of both, which no schema can tie to the path), so it is accepted (200).
  - register: every other schema-valid request gets an address of the run's own (the same seed
    in both passes would otherwise only repeat pass 1's addresses: 409 EMAIL_TAKEN).
  - createBooking: a schema-valid request gets seats of the pinned show that no earlier request
    took (1 or 2 of them), so it can hold them (201); anything else is sent as generated.
  - createCounterSale: the same, with seats of its own pinned show (sold, 201).
  - blockExternalSeats: the same, with other seats of that show and a reference of its own
    (201); releaseExternalSeats: every other valid request names no seats (the pinned block is
    released whole, 200).
  - createShow: every other schema-valid request gets the next free future slot on the pinned
    screen (201); the rest keep their generated `startTime` (past ones 400, overlapping ones 409).

The data comes from infra/contract_setup.py (CONTRACT_HOOK_DATA)."""

import datetime
import hashlib
import hmac
import itertools
import json
import os
import time

import requests
import schemathesis

with open(os.environ["CONTRACT_HOOK_DATA"], encoding="utf-8") as f:
    DATA = json.load(f)
with open(os.environ["CONTRACT_WEBHOOK_SECRETS"], encoding="utf-8") as f:
    SECRETS = json.load(f)

SEATS = iter(DATA["bookingSeats"])
COUNTER_SEATS = iter(DATA["counterSeats"])
EXTERNAL_SEATS = iter(DATA["externalSeats"])
EXTERNAL_REFS = itertools.count()
RELEASE_CASES = itertools.count()
SLOTS = (
    datetime.datetime.fromisoformat(DATA["showSlotsFrom"]) + datetime.timedelta(hours=DATA["showSlotHours"] * n)
    for n in itertools.count()
)
SHOW_CASES = itertools.count()
REGISTER_CASES = itertools.count()
SEEN_EMAILS = []


def sign(secret: str, body: bytes) -> str:
    t = int(time.time())
    digest = hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


class ProviderSignature(requests.auth.AuthBase):
    """Signs the prepared request: requests applies auth after the body is serialized."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        if isinstance(body, str):
            body = body.encode()
        path = r.path_url.split("?", 1)[0].rstrip("/")
        if path.endswith("/sandbox"):
            r.headers["X-Signature"] = sign(SECRETS["sandboxWebhookSecret"], body)
        elif path.endswith("/stripe"):
            r.headers["Stripe-Signature"] = sign(SECRETS["stripeWebhookSecret"], body)
        return r


def operation_id(case) -> str | None:
    return case.operation.definition.raw.get("operationId")


def is_positive(case) -> bool:
    meta = case.meta
    return meta is None or not meta.generation.mode.is_negative


def give_fresh_seats(body: dict, seats) -> None:
    """1 or 2 seats no earlier request took, in place of a valid request's `seatIds`."""
    asked = body.get("seatIds")
    if isinstance(asked, list) and 1 <= len(asked) <= 10:
        fresh = list(itertools.islice(seats, min(len(asked), 2)))
        if fresh:
            body["seatIds"] = fresh


@schemathesis.hook
def before_call(context, case, kwargs):
    op = operation_id(case)
    body = case.body
    positive = isinstance(body, dict) and is_positive(case)
    if op == "paymentWebhook":
        kwargs["auth"] = ProviderSignature()
        if positive and isinstance(case.path_parameters, dict):
            case.path_parameters["provider"] = "sandbox" if "bookingReference" in body else "stripe"
        return
    if not positive:
        return
    if op == "register":
        if isinstance(body.get("email"), str) and next(REGISTER_CASES) % 2 == 0:
            body["email"] = f"contract-{DATA['runId']}-{len(SEEN_EMAILS)}@example.com"
            SEEN_EMAILS.append(body["email"])
    if op == "createBooking":
        if body.get("showId") == DATA["bookingShow"]:
            give_fresh_seats(body, SEATS)
    elif op == "createCounterSale":
        give_fresh_seats(body, COUNTER_SEATS)
    elif op == "blockExternalSeats":
        give_fresh_seats(body, EXTERNAL_SEATS)
        if isinstance(body.get("externalRef"), str):
            body["externalRef"] = f"contract-{DATA['runId']}-{next(EXTERNAL_REFS)}"
    elif op == "releaseExternalSeats":
        if next(RELEASE_CASES) % 2 == 0:
            body.pop("seatIds", None)
    elif op == "createShow":
        if isinstance(body.get("startTime"), str) and next(SHOW_CASES) % 2 == 0:
            body["startTime"] = next(SLOTS).isoformat()
