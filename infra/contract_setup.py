"""Test data for the contract run's second pass (infra/contract.sh): real identifiers from the
demo catalogue `boxoffice-local` seeds plus a few records made for the run, and the tokens of each
role, written as a schemathesis configuration that pins them per operation, so the fuzzer reaches
each handler's success path (2xx) as well as its 409s and 422s, not only its 401/403/404 guards.

    python3 infra/contract_setup.py BASE_URL GATEWAY_LOG HOOK_DATA > pass2.toml

What each operation is pinned to (contract.sh fails the run if one never answers 2xx):
  - createBooking: a show of its own; infra/contract_hooks.py gives each schema-valid request
    seats nobody holds (the ids a schema cannot know), from the list written to HOOK_DATA;
  - login: an account registered for the run; register: (hook) half the valid requests get a
    new address of the run;
  - getBooking, sandboxComplete: a booking with an open sandbox intent (the customer owns both);
  - initiatePayment: a fresh booking with no intent (its first request opens one, 201; later
    ones are 409 PAYMENT_PENDING);
  - cancelBooking: another pending booking;
  - createTheatre: a known city; createShow: a theatre, screen and movie of the run with the
    screen's seat types priced, and (hook) a free future slot for half the valid requests;
  - joinWaitlist: a show made sold out (one seat, confirmed);
  - putShowQueue, joinQueue, getQueueStatus: a show of the run in queue mode (on sale tomorrow),
    which the customer has joined;
  - verifyTicket: that booking's ticket code (200 the first time, 409 ALREADY_ADMITTED after);
  - getTicketSvg, getTicketPng: that booking (the customer's, confirmed: it has a ticket);
  - bestAvailable: a show of its own (its holds count towards the customer's seats of that
    show only), so suggestions (200) and holds (201) do not take createBooking's seats;
  - createCounterSale: the partner and a show of its own; the hook gives each schema-valid
    request seats no earlier request took (201), as for createBooking;
  - createApiKey: the partner; revokeApiKey: a key of the run's (200, again 200);
  - blockExternalSeats, releaseExternalSeats: a live key of the partner (X-Api-Key) and
    createCounterSale's show: the hook gives each valid block other free seats and a reference
    of its own (201); a release names a block made for it (200, again 200);
  - paymentWebhook: signed by the hook with the stage's webhook secrets.

The demo accounts' passwords are new every run and printed once by the gateway (GATEWAY_LOG)."""

import datetime
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

BASE, LOG, HOOK_DATA = sys.argv[1], sys.argv[2], sys.argv[3]


def call(method, path, token=None, body=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + "/api/v1" + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def must(status_body, *ok):
    status, body = status_body
    if status not in ok:
        sys.exit(f"contract setup: unexpected {status}: {body}")
    return body


def login(email, password):
    return must(call("POST", "/auth/login", body={"email": email, "password": password}), 200)["accessToken"]


accounts = {}
with open(LOG, encoding="utf-8", errors="replace") as f:
    for line in f:
        m = re.match(r"^  (ADMIN|PARTNER|CUSTOMER) +(\S+@boxoffice\.local) +(\S+)\s*$", line)
        if m:
            accounts[m.group(1)] = (m.group(2), m.group(3))
if set(accounts) != {"ADMIN", "PARTNER", "CUSTOMER"}:
    sys.exit(f"contract setup: demo accounts not found in the gateway's output: {sorted(accounts)}")
tokens = {role: login(*cred) for role, cred in accounts.items()}
customer, partner = tokens["CUSTOMER"], tokens["PARTNER"]

# An account of the run's own for login (the demo accounts' tokens stay as they are).
run_id = f"{int(time.time())}-{os.getpid()}"
login_email, login_password = f"contract-login-{run_id}@example.com", f"login-{run_id}-password"
must(call("POST", "/auth/register", body={"email": login_email, "password": login_password, "name": "Contract Login"}), 201)

# Five future shows with free seats: A holds the run's bookings, B is the one cancelShow may
# cancel, C is createBooking's (the customer may hold at most 10 seats of a show), D
# bestAvailable's, E createCounterSale's.
city = "blr"
movies = must(call("GET", f"/movies?city={city}&limit=100"), 200)["movies"]
soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)
shows = []
today = datetime.date.today()
for movie in movies:
    for day in range(1, 7):
        date = (today + datetime.timedelta(days=day)).isoformat()
        browse = must(call("GET", f"/cities/{city}/movies/{movie['movieId']}/shows?date={date}"), 200)
        for theatre in browse["theatres"]:
            for show in theatre["shows"]:
                start = datetime.datetime.fromisoformat(show["startTime"])
                if start > soon and show["availability"]["availableSeats"] >= 20:
                    shows.append((movie, theatre["theatreId"], show["showId"]))
    if len(shows) >= 5:
        break
if len(shows) < 5:
    sys.exit("contract setup: the demo catalogue has no five future shows")
(movie, theatre_id, show_a), (_, _, show_b), (_, _, show_c), (_, _, show_d), (_, _, show_e) = shows[:5]
movie_id = movie["movieId"]


def free_seats(show_id):
    seat_map = must(call("GET", f"/shows/{show_id}/seats"), 200)
    return [s["seatId"] for r in seat_map["seatMap"]["rows"] for s in r["seats"] if s["status"] == "AVAILABLE"]


def book(show_id, seat):
    return must(call("POST", "/bookings", customer, {"showId": show_id, "seatIds": [seat]}), 201)["bookingId"]


def pay(booking_id):
    body = {"provider": "sandbox", "returnUrl": "https://example.com/done"}
    return must(call("POST", f"/bookings/{booking_id}/payments", customer, body), 201)["providerPayload"]["paymentIntentId"]


free = free_seats(show_a)
paid = book(show_a, free[0])
intent = pay(paid)
pending = book(show_a, free[1])
fresh = book(show_a, free[2])

# A theatre of the run: screen "Single" (one seat) gets a show that is then sold out; screen
# "Open" is where createShow schedules, clear of every other show.
def layout(rows, per_row):
    return {"rows": [{"rowLabel": chr(65 + r), "seats": [{"seatId": f"{chr(65 + r)}{n}", "type": "REGULAR"}
                                                         for n in range(1, per_row + 1)]} for r in range(rows)]}


theatre = must(call("POST", "/theatres", partner, {
    "name": "Contract Screens", "cityId": city, "area": "Test Area", "address": "1 Test Road",
    "screens": [{"name": "Single", "layout": layout(1, 1)}, {"name": "Open", "layout": layout(2, 5)}],
}), 201)
single, open_screen = (s["screenId"] for s in theatre["screens"])
ist = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
base = (datetime.datetime.now(ist) + datetime.timedelta(days=2)).replace(hour=11, minute=0, second=0, microsecond=0)
prices = {"REGULAR": 15000, "PREMIUM": 22000, "RECLINER": 35000, "WHEELCHAIR": 15000}


def show_body(screen_id, start):
    return {"theatreId": theatre["theatreId"], "screenId": screen_id, "movieId": movie_id,
            "startTime": start.isoformat(), "language": movie["languages"][0], "format": "2D",
            "currency": "INR", "prices": prices}


sold_out = must(call("POST", "/shows", partner, show_body(single, base)), 201)["showId"]
admitted = book(sold_out, "A1")
must(call("POST", f"/sandbox/payments/{pay(admitted)}/complete", customer, {"outcome": "succeeded"}), 200)
deadline = time.monotonic() + 60
while True:
    booking = must(call("GET", f"/bookings/{admitted}", customer), 200)
    if booking["status"] == "CONFIRMED" and "ticket" in booking:
        ticket = booking["ticket"]["qrCodeData"]
        break
    if time.monotonic() > deadline:
        sys.exit(f"contract setup: the sold-out show's booking was not confirmed: {booking['status']}")
    time.sleep(0.25)

# The waiting room: a show of the run in queue mode, on sale tomorrow, joined by the customer.
queued = must(call("POST", "/shows", partner, show_body(single, base + datetime.timedelta(hours=6))), 201)["showId"]
on_sale = (datetime.datetime.now(ist) + datetime.timedelta(days=1)).replace(microsecond=0).isoformat()
must(call("PUT", f"/shows/{queued}/queue", partner, {"onSaleAt": on_sale, "admissionRatePerSecond": 10}), 200)
must(call("POST", f"/shows/{queued}/queue", customer), 201)

# Other platforms: a live key, a key to revoke, and a block of show E to release.
api_key = must(call("POST", "/partner/api-keys", partner, {"name": "Contract platform"}), 201)["apiKey"]
revocable = must(call("POST", "/partner/api-keys", partner, {"name": "Contract revocable"}), 201)["keyId"]
counter_free = free_seats(show_e)
released_ref = f"contract-release-{run_id}"


def call_with_key(path, body):
    req = urllib.request.Request(BASE + "/api/v1" + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json", "x-api-key": api_key})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status


if call_with_key(f"/external/shows/{show_e}/seats/block", {"seatIds": [counter_free.pop()], "externalRef": released_ref}) != 201:
    sys.exit("contract setup: the block to release was not made")
half = len(counter_free) // 2

# What the hooks need (infra/contract_hooks.py): createBooking's, createCounterSale's and
# blockExternalSeats's seats, createShow's slots.
with open(HOOK_DATA, "w", encoding="utf-8") as f:
    json.dump({"runId": run_id, "bookingShow": show_c, "bookingSeats": free_seats(show_c),
               "counterShow": show_e, "counterSeats": counter_free[:half], "externalSeats": counter_free[half:],
               "showSlotsFrom": (base + datetime.timedelta(days=1)).isoformat(), "showSlotHours": 5}, f)


def toml(v):
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(toml(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)


def operations(regex, headers_role=None, extra=None, **params):
    out = ["[[operations]]", f"include-operation-id-regex = {toml(regex)}"]
    if headers_role:
        out.append(f"headers = {{ Authorization = {toml('Bearer ' + tokens[headers_role])} }}")
    if params:
        out.append(f"parameters = {toml({k.replace('__', '.'): v for k, v in params.items()})}")
    out.extend(extra or [])
    return "\n".join(out) + "\n"


print(f"headers = {{ Authorization = {toml('Bearer ' + customer)} }}\n")
print(operations("^(createPartner|putCity|putOffer|listOffers|createMovie)$", "ADMIN"))
print(operations("^(createTheatre|createShow|verifyTicket)$", "PARTNER"))
print(operations("^login$", None, body__email=login_email, body__password=login_password))
print(operations("^createTheatre$", None, body__cityId=city))
print(operations("^createShow$", None, body__theatreId=theatre["theatreId"], body__screenId=open_screen,
                 body__movieId=movie_id, body__language=movie["languages"][0], body__currency="INR",
                 body__prices=prices))
print(operations("^verifyTicket$", None, body__qrCodeData=ticket))
print(operations("^showStats$", "PARTNER", path__showId=show_a))
print(operations("^cancelShow$", "PARTNER", path__showId=show_b))
print(operations("^getSeatMap$", None, path__showId=show_a))
print(operations("^joinWaitlist$", None, path__showId=sold_out))
print(operations("^createBooking$", None, body__showId=show_c))
print(operations("^bestAvailable$", None, path__showId=show_d))
print(operations("^createCounterSale$", "PARTNER", path__showId=show_e))
print(operations("^createApiKey$", "PARTNER"))
print(operations("^revokeApiKey$", "PARTNER", path__keyId=revocable))
key_header = [f"headers = {{ \"X-Api-Key\" = {toml(api_key)} }}"]
print(operations("^blockExternalSeats$", None, extra=key_header, path__showId=show_e))
print(operations("^releaseExternalSeats$", None, extra=key_header, path__showId=show_e, body__externalRef=released_ref))
print(operations("^(getTicketSvg|getTicketPng)$", None, path__bookingId=admitted))
print(operations("^putShowQueue$", "PARTNER", path__showId=queued, body__onSaleAt=on_sale))
print(operations("^(joinQueue|getQueueStatus)$", None, path__showId=queued))
print(operations("^getMovie$", None, path__movieId=movie_id))
print(operations("^getTheatre$", None, path__theatreId=theatre_id))
print(operations("^browseShows$", None, path__cityId=city, path__movieId=movie_id))
print(operations("^getBooking$", None, path__bookingId=paid))
print(operations("^initiatePayment$", None, path__bookingId=fresh))
print(operations("^cancelBooking$", None, path__bookingId=pending))
print(operations("^sandboxComplete$", None, path__paymentIntentId=intent))
# The contract answers a missing or wrong signature with 400 INVALID_SIGNATURE (as Stripe does),
# not the 401/403 ignored_auth expects of a request without credentials; the webhook's signature
# checks are the unit tests' and pass 1's (unsigned: 400 every time).
print(operations("^paymentWebhook$", None, extra=["checks = { ignored_auth = { enabled = false } }"]))
