"""Test data for the contract run's second pass (infra/contract.sh): real identifiers from the
demo catalogue `boxoffice-local` seeds, a booking with an open payment intent, and the tokens of
each role, written as a schemathesis configuration that pins them per operation, so the fuzzer reaches
each handler's core logic (2xx answers, 409s, 422s) and not only its 401/403/404 guards.

    python3 infra/contract_setup.py BASE_URL GATEWAY_LOG > pass2.toml

The demo accounts' passwords are new every run and printed once by the gateway (GATEWAY_LOG)."""

import datetime
import json
import re
import sys
import urllib.error
import urllib.request

BASE, LOG = sys.argv[1], sys.argv[2]


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

# Two future shows with free seats: A is booked, paid and fuzzed; B is the one cancelShow may cancel.
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
                if start > soon and show["availability"]["availableSeats"] >= 4:
                    shows.append((movie["movieId"], theatre["theatreId"], show["showId"]))
    if len(shows) >= 2:
        break
if len(shows) < 2:
    sys.exit("contract setup: the demo catalogue has no two future shows")
(movie_id, theatre_id, show_a), (_, _, show_b) = shows[0], shows[1]

seat_map = must(call("GET", f"/shows/{show_a}/seats"), 200)
free = [s["seatId"] for r in seat_map["seatMap"]["rows"] for s in r["seats"] if s["status"] == "AVAILABLE"]


def book(seat):
    return must(call("POST", "/bookings", tokens["CUSTOMER"], {"showId": show_a, "seatIds": [seat]}), 201)["bookingId"]


paid = book(free[0])
intent = must(
    call("POST", f"/bookings/{paid}/payments", tokens["CUSTOMER"],
         {"provider": "sandbox", "returnUrl": "https://example.com/done"}),
    201,
)["providerPayload"]["paymentIntentId"]
pending = book(free[1])


def q(s):
    return json.dumps(s)


def operations(regex, headers_role=None, **params):
    out = ["[[operations]]", f"include-operation-id-regex = {q(regex)}"]
    if headers_role:
        out.append(f"headers = {{ Authorization = {q('Bearer ' + tokens[headers_role])} }}")
    if params:
        pairs = ", ".join(f"{q(k.replace('__', '.'))} = {q(v)}" for k, v in params.items())
        out.append(f"parameters = {{ {pairs} }}")
    return "\n".join(out) + "\n"


print(f"headers = {{ Authorization = {q('Bearer ' + tokens['CUSTOMER'])} }}\n")
print(operations("^(createPartner|putCity|putOffer|listOffers|createMovie)$", "ADMIN"))
print(operations("^(createTheatre|createShow|verifyTicket)$", "PARTNER"))
print(operations("^showStats$", "PARTNER", path__showId=show_a))
print(operations("^cancelShow$", "PARTNER", path__showId=show_b))
print(operations("^(getSeatMap|joinWaitlist)$", None, path__showId=show_a))
print(operations("^createBooking$", None, body__showId=show_a))
print(operations("^getMovie$", None, path__movieId=movie_id))
print(operations("^getTheatre$", None, path__theatreId=theatre_id))
print(operations("^browseShows$", None, path__cityId=city, path__movieId=movie_id))
print(operations("^(getBooking|initiatePayment)$", None, path__bookingId=paid))
print(operations("^cancelBooking$", None, path__bookingId=pending))
print(operations("^sandboxComplete$", None, path__paymentIntentId=intent))
