//! Headers on every answer: a Content-Security-Policy that allows only the console's own
//! script, style, images and audio (no inline script or style, no framing), `nosniff`, a strict
//! Referrer-Policy, HSTS in production mode, and `Cache-Control: no-store` on everything that may
//! carry personal data (all but the console's static files and the prompt audio); and the
//! same-origin check on the console's form posts.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::console::ConsoleError;
use crate::app::AppState;
use crate::config::Mode;

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                      media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                      base-uri 'none'";
/// Two years, the preload list's minimum.
const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Paths whose answers hold nothing about a person and may be cached: the console's style
/// sheet and script, and the prompts' audio (addressed by a digest of their text; a prompt made
/// for one call is not listed anywhere).
fn cacheable(path: &str) -> bool {
    path.starts_with("/console/assets/") || path.starts_with("/audio/")
}

pub async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cache = !cacheable(request.uri().path());
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if state.settings.mode == Mode::Production {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    if cache {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A form post to the console (or the sign-in) from a page of another site is refused: its
/// `Origin` (else its `Referer`) must be the service's own — its public URL, or the host the
/// request was sent to. A request with neither (not a browser) still needs its CSRF token.
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = request.uri().path();
    let console = path == "/login" || path == "/logout" || path == "/console" || path.starts_with("/console/");
    if unsafe_method && console {
        let h = request.headers();
        if h.get_all(header::ORIGIN).iter().count() > 1 {
            tracing::warn!(path, "console post refused: more than one Origin");
            return ConsoleError::Origin.into_response();
        }
        let claimed = h
            .get(header::ORIGIN)
            .or_else(|| h.get(header::REFERER))
            .map(|v| v.to_str().ok().and_then(|v| url::Url::parse(v).ok()));
        if let Some(claimed) = claimed {
            let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
            let ours = claimed.is_some_and(|url| is_ours(&url, &state.settings.public_url, host));
            if !ours {
                tracing::warn!(path, "console post refused: from another site");
                return ConsoleError::Origin.into_response();
            }
        }
    }
    next.run(request).await
}

/// Whether `url`'s origin is the public URL's, or `http://<host>`: the process itself, reached
/// directly (it speaks plain HTTP; TLS is its proxy's, and arrives under the public URL).
fn is_ours(url: &url::Url, public: &url::Url, host: Option<&str>) -> bool {
    let origin = url.origin();
    if origin == public.origin() {
        return true;
    }
    let authority = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return false,
    };
    url.scheme() == "http" && host.is_some_and(|host| host.eq_ignore_ascii_case(&authority))
}

#[cfg(test)]
mod tests {
    use super::is_ours;

    #[test]
    fn only_the_services_own_origin_is_ours() {
        let public = url::Url::parse("https://hotline.example.org/").unwrap();
        let ours = |u: &str, host: Option<&str>| is_ours(&url::Url::parse(u).unwrap(), &public, host);
        assert!(ours("https://hotline.example.org", None));
        assert!(ours("https://hotline.example.org/console/cases/1", None));
        assert!(ours("http://10.0.0.5:8080/console", Some("10.0.0.5:8080")));
        assert!(!ours("https://evil.example.com", Some("hotline.example.org")));
        assert!(
            !ours("http://hotline.example.org", None),
            "another scheme is another origin"
        );
        assert!(!ours(
            "https://hotline.example.org.evil.com",
            Some("hotline.example.org")
        ));
        assert!(!ours("http://10.0.0.5:8081", Some("10.0.0.5:8080")));
        assert!(
            !ours("https://10.0.0.5:8080", Some("10.0.0.5:8080")),
            "the process speaks no TLS: https at its own address is not its page"
        );
    }
}
