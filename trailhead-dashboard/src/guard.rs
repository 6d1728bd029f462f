//! A dashboard served on a loopback address answers loopback host names
//! only: a web page that points a domain of its own at 127.0.0.1 (DNS
//! rebinding) gets nothing from it.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Answers `request` only if its `Host` is a loopback name.
pub(crate) async fn loopback_hosts(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    if is_loopback(host) {
        next.run(request).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            "this dashboard answers requests to localhost only",
        )
            .into_response()
    }
}

/// Whether `host` (`name` or `name:port`) names this machine's loopback.
fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_loopback_names_pass() {
        for host in [
            "localhost",
            "localhost:7420",
            "127.0.0.1:80",
            "[::1]:7420",
            "LOCALHOST",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "",
            "evil.example:7420",
            "localhost.evil.example",
            "10.0.0.1",
            "[fe80::1]",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
