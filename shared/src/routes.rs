//! The HTTP routes, as template.yaml declares them (a test keeps the two equal). The `$default`
//! route's function uses this table to tell a wrong method (405) from an unknown path (404).

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub function: &'static str,
}

macro_rules! routes {
    ($($method:literal $path:literal => $function:literal),* $(,)?) => {
        pub const ROUTES: &[Route] = &[$(Route { method: $method, path: $path, function: $function }),*];
    };
}

routes! {
    "POST" "/api/v1/auth/register" => "register",
    "POST" "/api/v1/auth/login" => "login",
    "POST" "/api/v1/admin/partners" => "create-partner",
    "PUT" "/api/v1/admin/cities/{cityId}" => "put-city",
    "GET" "/api/v1/cities" => "list-cities",
    "POST" "/api/v1/movies" => "create-movie",
    "GET" "/api/v1/movies" => "list-movies",
    "GET" "/api/v1/movies/{movieId}" => "get-movie",
    "POST" "/api/v1/theatres" => "create-theatre",
    "GET" "/api/v1/theatres/{theatreId}" => "get-theatre",
    "POST" "/api/v1/shows" => "create-show",
    "GET" "/api/v1/cities/{cityId}/movies/{movieId}/shows" => "browse-shows",
    "GET" "/api/v1/shows/{showId}/seats" => "get-seat-map",
    "GET" "/api/v1/shows/{showId}/layout" => "get-show-layout",
    "GET" "/api/v1/shows/{showId}/availability" => "get-seat-availability",
    "GET" "/api/v1/shows/{showId}/stats" => "show-stats",
    "POST" "/api/v1/partner/shows/{showId}/sales" => "create-counter-sale",
    "POST" "/api/v1/partner/api-keys" => "create-api-key",
    "DELETE" "/api/v1/partner/api-keys/{keyId}" => "revoke-api-key",
    "POST" "/api/v1/external/shows/{showId}/seats/block" => "block-external-seats",
    "POST" "/api/v1/external/shows/{showId}/seats/release" => "release-external-seats",
    "POST" "/api/v1/bookings" => "create-booking",
    "GET" "/api/v1/bookings/{bookingId}" => "get-booking",
    "GET" "/api/v1/me/bookings" => "list-my-bookings",
    "POST" "/api/v1/bookings/{bookingId}/cancel" => "cancel-booking",
    "PUT" "/api/v1/admin/offers/{code}" => "put-offer",
    "GET" "/api/v1/admin/offers" => "list-offers",
    "POST" "/api/v1/bookings/{bookingId}/payments" => "initiate-payment",
    "POST" "/api/v1/payments/webhooks/{provider}" => "payment-webhook",
    "POST" "/api/v1/sandbox/payments/{paymentIntentId}/complete" => "sandbox-complete",
    "POST" "/api/v1/tickets/verify" => "verify-ticket",
    "POST" "/api/v1/shows/{showId}/cancel" => "cancel-show",
    "GET" "/api/v1/me/notifications" => "list-notifications",
    "GET" "/api/v1/me/loyalty" => "get-loyalty",
    "POST" "/api/v1/shows/{showId}/waitlist" => "join-waitlist",
    "POST" "/api/v1/shows/{showId}/best-available" => "best-available",
    "GET" "/api/v1/bookings/{bookingId}/ticket.svg" => "get-ticket-image",
    "GET" "/api/v1/bookings/{bookingId}/ticket.png" => "get-ticket-image",
    "GET" "/api/v1/.well-known/ticket-keys" => "get-ticket-keys",
    "PUT" "/api/v1/shows/{showId}/queue" => "put-show-queue",
    "POST" "/api/v1/shows/{showId}/queue" => "join-queue",
    "GET" "/api/v1/shows/{showId}/queue/me" => "get-queue-status",
}

/// Matches a concrete path against a route template such as `/api/v1/shows/{showId}/seats`,
/// returning the path parameters.
pub fn match_path(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    let mut t = template.trim_end_matches('/').split('/');
    let mut p = path.trim_end_matches('/').split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.push((name.to_owned(), ps.to_owned()));
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The methods allowed on `path`, empty when no route matches it.
pub fn allowed_methods(path: &str) -> Vec<String> {
    let mut methods: Vec<String> = ROUTES
        .iter()
        .filter(|r| match_path(r.path, path).is_some())
        .map(|r| r.method.to_owned())
        .collect();
    methods.sort();
    methods.dedup();
    methods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_with_parameters() {
        assert_eq!(
            match_path("/api/v1/admin/cities/{cityId}", "/api/v1/admin/cities/blr"),
            Some(vec![("cityId".into(), "blr".into())])
        );
        assert_eq!(
            match_path("/api/v1/admin/cities/{cityId}", "/api/v1/admin/cities/"),
            None
        );
        assert_eq!(match_path("/api/v1/cities", "/api/v1/cities/x"), None);
        assert_eq!(allowed_methods("/api/v1/cities"), vec!["GET"]);
        assert!(allowed_methods("/nope").is_empty());
    }
}
