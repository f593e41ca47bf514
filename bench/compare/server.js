// make bench's side-by-side reference: the seat hold as a typical Node team builds it.
//
//   POST /bookings {showId, seatIds}  -> 201 {bookingId, showId, seats, status, expiresAt}
//                                        409 SEAT_LOCK_FAILED with the seats someone else holds
//   POST /shows {rows, cols}          -> 201 {showId, seats} (ADMIN only; the bench's setup)
//   GET  /shows/:id/seats             -> the seat map straight from PostgreSQL (the oversell check)
//   GET  /healthz
//
// A hold takes a Redis lock per seat (one Lua script: all seats or none, PX = the hold TTL), then
// writes the booking and its seat rows in one PostgreSQL transaction; the primary key on
// (show_id, seat_id) means a seat can never be sold twice even if a lock expired. Any failure after
// the locks were taken releases exactly the locks this booking holds.
//
// One process: on the benchmark's 2 cores PostgreSQL, Redis and the load driver need the other
// core; a second cluster worker only adds context switches (the event loop is not the bottleneck).
// Configuration from the environment: PORT, PG* (node-postgres reads them), REDIS_URL, JWT_SECRET,
// JWT_ISSUER, JWT_AUDIENCE, HOLD_SECONDS, PG_POOL_MAX. Listens on 127.0.0.1 only.
import http from 'node:http';
import crypto from 'node:crypto';
import pg from 'pg';
import { createClient } from 'redis';

const env = (name, fallback) => {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) throw new Error(`${name} is not set`);
    return fallback;
  }
  return v;
};

const PORT = Number(env('PORT'));
const HOLD_SECONDS = Number(env('HOLD_SECONDS', '600'));
const JWT_SECRET = Buffer.from(env('JWT_SECRET'));
const JWT_ISSUER = env('JWT_ISSUER');
const JWT_AUDIENCE = env('JWT_AUDIENCE');
const MAX_BODY = 64 * 1024;
const SEAT_ID = /^R\d{1,3}-\d{1,3}$/;

// node-postgres' default pool size (10): enough to keep 2 cores of PostgreSQL busy while requests
// wait on Redis and the network, small enough not to thrash them.
const pool = new pg.Pool({ max: Number(env('PG_POOL_MAX', '10')), idleTimeoutMillis: 60_000 });
pool.on('error', (err) => console.error(`pg pool: ${err.message}`));

// One multiplexed connection: node-redis pipelines concurrent commands on it.
const redis = createClient({ url: env('REDIS_URL') });
redis.on('error', (err) => console.error(`redis: ${err.message}`));

// KEYS: the seat lock keys; ARGV: holder, TTL ms. Returns the (1-based) indexes of the keys someone
// else holds, and takes every lock only when there is none.
const HOLD_LUA = `
local taken = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then taken[#taken + 1] = i end
end
if #taken == 0 then
  for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
end
return taken`;
// Deletes the locks that ARGV[1] still holds.
const RELEASE_LUA = `
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then n = n + redis.call('DEL', key) end
end
return n`;
let holdSha;
let releaseSha;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shows (
  id         text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS seats (
  show_id text NOT NULL REFERENCES shows (id),
  seat_id text NOT NULL,
  PRIMARY KEY (show_id, seat_id)
);
CREATE TABLE IF NOT EXISTS bookings (
  id         text PRIMARY KEY,
  show_id    text NOT NULL REFERENCES shows (id),
  user_id    text NOT NULL,
  status     text NOT NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS booking_seats (
  show_id    text NOT NULL,
  seat_id    text NOT NULL,
  booking_id text NOT NULL REFERENCES bookings (id),
  PRIMARY KEY (show_id, seat_id),
  FOREIGN KEY (show_id, seat_id) REFERENCES seats (show_id, seat_id)
);
CREATE INDEX IF NOT EXISTS booking_seats_booking ON booking_seats (booking_id);`;

class HttpError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', 'The body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'VALIDATION_FAILED', 'The body is not valid JSON.'));
      }
    });
    req.on('error', reject);
  });
}

// HS256 bearer tokens (the same claims as BoxOffice's: sub, role, iss, aud, exp).
function authenticate(req) {
  const header = req.headers.authorization ?? '';
  const unauthorized = new HttpError(401, 'UNAUTHORIZED', 'A valid bearer token is required.');
  if (!header.startsWith('Bearer ')) throw unauthorized;
  const parts = header.slice(7).split('.');
  if (parts.length !== 3) throw unauthorized;
  const [h, p, sig] = parts;
  const expected = crypto.createHmac('sha256', JWT_SECRET).update(`${h}.${p}`).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) throw unauthorized;
  let head;
  let claims;
  try {
    head = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    throw unauthorized;
  }
  const now = Math.floor(Date.now() / 1000);
  if (
    head.alg !== 'HS256' ||
    typeof claims.sub !== 'string' ||
    claims.iss !== JWT_ISSUER ||
    claims.aud !== JWT_AUDIENCE ||
    typeof claims.exp !== 'number' ||
    claims.exp + 5 < now
  ) {
    throw unauthorized;
  }
  return claims;
}

const lockKey = (showId, seatId) => `hold:{${showId}}:${seatId}`;

async function releaseLocks(keys, holder) {
  try {
    await redis.evalSha(releaseSha, { keys, arguments: [holder] });
  } catch (err) {
    // The locks expire with the hold anyway.
    console.error(`releasing ${keys.length} seat locks: ${err.message}`);
  }
}

async function createBooking(req, res) {
  const claims = authenticate(req);
  const body = await readJson(req);
  const showId = body?.showId;
  const seatIds = body?.seatIds;
  if (typeof showId !== 'string' || showId.length === 0 || showId.length > 64) {
    throw new HttpError(400, 'VALIDATION_FAILED', 'showId is required.');
  }
  if (
    !Array.isArray(seatIds) ||
    seatIds.length === 0 ||
    seatIds.length > 10 ||
    !seatIds.every((s) => typeof s === 'string' && SEAT_ID.test(s))
  ) {
    throw new HttpError(400, 'VALIDATION_FAILED', 'seatIds must list 1 to 10 seat ids.');
  }
  if (new Set(seatIds).size !== seatIds.length) {
    throw new HttpError(400, 'VALIDATION_FAILED', 'seatIds has duplicates.');
  }

  const bookingId = `bk_${crypto.randomUUID()}`;
  const keys = seatIds.map((s) => lockKey(showId, s));
  const taken = await redis.evalSha(holdSha, {
    keys,
    arguments: [bookingId, String(HOLD_SECONDS * 1000)],
  });
  if (taken.length > 0) {
    throw new HttpError(409, 'SEAT_LOCK_FAILED', 'One or more seats are no longer available.', {
      showId,
      unavailableSeatIds: taken.map((i) => seatIds[Number(i) - 1]),
    });
  }

  const expiresAt = new Date(Date.now() + HOLD_SECONDS * 1000);
  let client;
  try {
    client = await pool.connect();
    await client.query('BEGIN');
    await client.query(
      'INSERT INTO bookings (id, show_id, user_id, status, expires_at) VALUES ($1, $2, $3, $4, $5)',
      [bookingId, showId, claims.sub, 'HELD', expiresAt],
    );
    await client.query(
      'INSERT INTO booking_seats (show_id, seat_id, booking_id) SELECT $1, unnest($2::text[]), $3',
      [showId, seatIds, bookingId],
    );
    await client.query('COMMIT');
  } catch (err) {
    if (client) await client.query('ROLLBACK').catch(() => {});
    await releaseLocks(keys, bookingId);
    if (err.code === '23505') {
      throw new HttpError(409, 'SEAT_LOCK_FAILED', 'One or more seats are no longer available.', {
        showId,
        unavailableSeatIds: seatIds,
      });
    }
    if (err.code === '23503') {
      throw new HttpError(404, 'NOT_FOUND', 'No such show or seat.');
    }
    throw err;
  } finally {
    client?.release();
  }
  send(res, 201, {
    bookingId,
    showId,
    seats: seatIds,
    status: 'HELD',
    expiresAt: expiresAt.toISOString(),
  });
}

async function createShow(req, res) {
  const claims = authenticate(req);
  if (claims.role !== 'ADMIN') throw new HttpError(403, 'FORBIDDEN', 'Administrators only.');
  const body = await readJson(req);
  const rows = Number(body?.rows);
  const cols = Number(body?.cols);
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1 || rows * cols > 5000) {
    throw new HttpError(400, 'VALIDATION_FAILED', 'rows and cols must be positive integers.');
  }
  const showId = `sh_${crypto.randomUUID()}`;
  const seats = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) seats.push(`R${r}-${c}`);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('INSERT INTO shows (id) VALUES ($1)', [showId]);
    await client.query('INSERT INTO seats (show_id, seat_id) SELECT $1, unnest($2::text[])', [
      showId,
      seats,
    ]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  send(res, 201, { showId, seats: seats.length });
}

async function seatMap(res, showId) {
  // One row per (seat, booking row): a seat in two bookings would show up twice.
  const { rows } = await pool.query(
    `SELECT s.seat_id AS "seatId", bs.booking_id AS "bookingId"
       FROM seats s LEFT JOIN booking_seats bs USING (show_id, seat_id)
      WHERE s.show_id = $1 ORDER BY s.seat_id`,
    [showId],
  );
  if (rows.length === 0) throw new HttpError(404, 'NOT_FOUND', 'No such show.');
  send(res, 200, { showId, seats: rows });
}

async function route(req, res) {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'POST' && path === '/bookings') return createBooking(req, res);
  if (req.method === 'POST' && path === '/shows') return createShow(req, res);
  const m = /^\/shows\/([A-Za-z0-9_-]{1,64})\/seats$/.exec(path);
  if (req.method === 'GET' && m) return seatMap(res, m[1]);
  if (req.method === 'GET' && path === '/healthz') return send(res, 200, { ok: true });
  throw new HttpError(404, 'NOT_FOUND', 'No such route.');
}

const server = http.createServer((req, res) => {
  route(req, res).catch((err) => {
    if (err instanceof HttpError) {
      const error = { code: err.code, message: err.message };
      if (err.details) error.details = err.details;
      if (!res.headersSent) send(res, err.status, { error });
      return;
    }
    console.error(`${req.method} ${req.url}: ${err.message}`);
    if (!res.headersSent) send(res, 500, { error: { code: 'INTERNAL', message: 'Internal error.' } });
  });
});
// Behind a load balancer that keeps connections open (ALB: 60 s idle), Node's 5 s default would
// close them under its feet.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

async function main() {
  await redis.connect();
  holdSha = await redis.scriptLoad(HOLD_LUA);
  releaseSha = await redis.scriptLoad(RELEASE_LUA);
  await pool.query(SCHEMA);
  server.listen({ host: '127.0.0.1', port: PORT, backlog: 4096 }, () => {
    console.log(`listening on 127.0.0.1:${PORT}`);
  });
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  await Promise.allSettled([pool.end(), redis.quit()]);
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

main().catch((err) => {
  console.error(`startup failed: ${err.message}`);
  process.exit(1);
});
