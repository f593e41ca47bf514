//! QR tickets end to end: a confirmed booking's ticket image, served through the gateway (the
//! PNG across the Lambda payload's base64 and the local port, as deployed), decodes to its code;
//! the code verifies offline against `GET /.well-known/ticket-keys`; a tampered code fails
//! offline and at `POST /tickets/verify`; an old BX1 code is admitted until its show ends.

use boxoffice::domain::{
    ticket::{issue_legacy, verify_offline, PublicTicketKey},
    user::Role,
};
use boxoffice_tests::{fixtures::ist, stack_with, Reply, TestStack};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A customer's confirmed booking of `seats` (sandbox payment): (token, booking JSON).
async fn confirmed(s: &TestStack, show: &str, seats: &[&str]) -> (String, Value) {
    let (_, token) = s.user(Role::Customer).await;
    let b = s
        .call("POST", "/api/v1/bookings")
        .token(&token)
        .json(&json!({"showId": show, "seatIds": seats}))
        .send()
        .await;
    assert_eq!(b.status, 201, "{}", b.text);
    let id = b.body["bookingId"].as_str().expect("id").to_owned();
    let booking = s.pay_with_sandbox(&token, &id).await;
    (token, booking)
}

/// `POST /tickets/verify` as the show's partner.
async fn verify_at(s: &TestStack, partner: &str, code: String) -> Reply {
    s.call("POST", "/api/v1/tickets/verify")
        .token(partner)
        .json(&json!({"qrCodeData": code}))
        .send()
        .await
}

/// The text of a QR code in a greyscale image (`dark(x, y)`), as a scanner reads it.
fn decode_qr(width: usize, height: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if dark(x, y) {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (_, text) = grids[0].decode().expect("the QR code decodes");
    text
}

fn decode_png(bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Grayscale, png::BitDepth::One)
    );
    let (w, h, line) = (info.width as usize, info.height as usize, info.line_size);
    decode_qr(w, h, |x, y| buf[y * line + x / 8] & (0x80 >> (x % 8)) == 0)
}

/// Rasterises the SVG's unit squares (`M{x} {y}h1v1h-1z`) at 4 pixels a module.
fn decode_svg(svg: &str) -> String {
    let view = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("a square viewBox");
    let path = svg
        .split(" d=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("one path");
    let mut dark = vec![false; view * view];
    for square in path.split('M').filter(|m| !m.is_empty()) {
        let square = square.strip_suffix("h1v1h-1z").expect("unit squares");
        let (x, y) = square.split_once(' ').expect("x y");
        let (x, y): (usize, usize) = (x.parse().expect("x"), y.parse().expect("y"));
        dark[y * view + x] = true;
    }
    let scale = 4;
    decode_qr(view * scale, view * scale, |x, y| {
        dark[(y / scale) * view + x / scale]
    })
}

/// A GET to the gateway's real port, as a client would: (status, headers, body).
async fn get_over_the_port(s: &TestStack, path: &str, token: &str) -> (u16, String, Vec<u8>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let gateway = Arc::new(s.fresh_gateway());
    let server = tokio::spawn(gateway.serve(listener, async {
        let _ = stopped.await;
    }));
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await.expect("read");
    let _ = stop.send(());
    let _ = server.await;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status");
    (status, head, response[split + 4..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qr_ticket_decodes_to_a_code_that_verifies_offline_and_tampering_fails() {
    let s = stack_with(&[("HOLD_SECONDS", "600")]).await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let (token, booking) = confirmed(&s, &show, &["R1-4", "R1-5"]).await;
    let booking_id = booking["bookingId"].as_str().expect("id");
    let code = booking["ticket"]["qrCodeData"].as_str().expect("code");
    assert!(code.starts_with("BX2."), "{code}");

    // The published keys: anyone, cacheable.
    let keys = s
        .call("GET", "/api/v1/.well-known/ticket-keys")
        .send()
        .await;
    assert_eq!(keys.status, 200, "{}", keys.text);
    assert!(keys.headers["cache-control"]
        .to_str()
        .is_ok_and(|c| c.contains("max-age")));
    let published: Vec<PublicTicketKey> =
        serde_json::from_value(keys.body["keys"].clone()).expect("{keys:[{kid, publicKey}]}");
    assert_eq!(published.len(), 1);
    assert!(code.starts_with(&format!("BX2.{}.", published[0].kid)));

    // The images: owner only, each decoding to the code.
    let svg = s
        .call("GET", &format!("/api/v1/bookings/{booking_id}/ticket.svg"))
        .token(&token)
        .send()
        .await;
    assert_eq!(svg.status, 200, "{}", svg.text);
    assert_eq!(svg.headers["content-type"], "image/svg+xml");
    assert_eq!(decode_svg(&svg.text), code, "the SVG decodes to the code");
    let png = s
        .call("GET", &format!("/api/v1/bookings/{booking_id}/ticket.png"))
        .token(&token)
        .send()
        .await;
    assert_eq!(png.status, 200, "{}", png.text);
    assert_eq!(png.headers["content-type"], "image/png");
    assert_eq!(decode_png(&png.raw), code, "the PNG decodes to the code");
    let (_, stranger) = s.user(Role::Customer).await;
    let theirs = s
        .call("GET", &format!("/api/v1/bookings/{booking_id}/ticket.png"))
        .token(&stranger)
        .send()
        .await;
    assert_eq!(theirs.status, 403, "{}", theirs.text);

    // The PNG as deployed: the Lambda payload carries it base64-encoded, and the port (which
    // decodes that payload as API Gateway does) sends the same bytes.
    let resp = s
        .fresh_gateway()
        .call(
            hyper::Request::builder()
                .method("GET")
                .uri(format!("/api/v1/bookings/{booking_id}/ticket.png"))
                .header("authorization", format!("Bearer {token}"))
                .body(bytes::Bytes::new())
                .expect("request"),
        )
        .await;
    let payload = boxoffice_local::gateway::v2_response(resp);
    assert_eq!(payload["isBase64Encoded"], true, "{payload}");
    assert_eq!(payload["headers"]["content-type"], "image/png");
    let (status, head, body) = get_over_the_port(
        &s,
        &format!("/api/v1/bookings/{booking_id}/ticket.png"),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("content-type: image/png"), "{head}");
    assert_eq!(decode_png(&body), code, "the PNG from the port decodes too");

    // Offline, as a gate scanner: the code verifies by the published key; tampered, it does not.
    let claims = verify_offline(&published, code).expect("verifies offline");
    assert_eq!(claims.booking_id, booking_id);
    assert_eq!(claims.seat_ids, ["R1-4", "R1-5"]);
    let (signed, sig) = code.rsplit_once('.').expect("signed.sig");
    let (head_part, payload) = signed.rsplit_once('.').expect("head.payload");
    let mut more = claims.clone();
    more.seat_ids.push("R1-6".into());
    use base64::Engine;
    let forged_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&more).expect("json"));
    let flipped = format!(
        "{}{}",
        if sig.starts_with('A') { 'B' } else { 'A' },
        &sig[1..]
    );
    let tampered = [
        format!("{head_part}.{forged_payload}.{sig}"),
        format!("{signed}.{flipped}"),
        format!("{head_part}.{payload}x.{sig}"),
    ];
    let verify = |code: String| verify_at(&s, &f.partner, code);
    for t in &tampered {
        assert_eq!(verify_offline(&published, t), None, "offline: {t}");
        let r = verify(t.clone()).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "VALIDATION_ERROR"),
            "{t}: {}",
            r.text
        );
    }
    let admitted = verify(code.to_owned()).await;
    assert_eq!(admitted.status, 200, "{}", admitted.text);
    triggers.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_bx1_code_is_admitted_until_its_show_has_ended() {
    let s = stack_with(&[("HOLD_SECONDS", "600")]).await;
    let triggers = s.start_triggers();
    let f = s.catalog(40).await;
    let show = s.show_at(&f, &ist(3, 18, 0)).await;
    let keys = s
        .deps()
        .config
        .ticket_keys()
        .unwrap_or_else(|e| panic!("the local stack loads every secret: {e}"));
    let secret = s
        .deps()
        .config
        .ticket_key()
        .expect("key")
        .expose()
        .to_owned();
    // A BX1 code for a booking, as confirm-payment issued them before BX2.
    let legacy_of = |booking: &Value| {
        let code = booking["ticket"]["qrCodeData"].as_str().expect("code");
        let claims = keys.verify(code).expect("genuine").claims;
        issue_legacy(secret.as_bytes(), &claims)
    };
    let verify = |code: String| verify_at(&s, &f.partner, code);
    let (_, before) = confirmed(&s, &show, &["R1-1"]).await;
    let (_, after) = confirmed(&s, &show, &["R1-2"]).await;
    let old = verify(legacy_of(&before)).await;
    assert_eq!(old.status, 200, "a BX1 code before the show: {}", old.text);
    let again = verify(
        before["ticket"]["qrCodeData"]
            .as_str()
            .expect("code")
            .into(),
    )
    .await;
    assert_eq!(again.code(), "ALREADY_ADMITTED", "{}", again.text);

    // Past the show's end (3 days ahead, 120 minutes long).
    s.deps().clock.advance(chrono::Duration::days(4));
    let expired = verify(legacy_of(&after)).await;
    assert_eq!(
        (expired.status, expired.code()),
        (400, "VALIDATION_ERROR"),
        "{}",
        expired.text
    );
    let current = verify(after["ticket"]["qrCodeData"].as_str().expect("code").into()).await;
    assert_eq!(
        current.status, 200,
        "a BX2 code is not expired by this: {}",
        current.text
    );
    triggers.stop().await;
}
