//! The dashboard at `/_mock/ui/`: three static files (in `mock-server/ui/`) embedded in the
//! binary, that read the control API from the browser. No build step, no network: it works
//! offline. Read-only: it only ever sends GET requests.

use axum::{
    http::header,
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};

use crate::protocol::{method_not_allowed, Apis};

/// Where the dashboard is served.
pub(crate) const PATH: &str = "/_mock/ui/";

/// The dashboard's files: path, content type, contents.
const FILES: [(&str, &str, &str); 3] = [
    (
        "/_mock/ui/",
        "text/html; charset=utf-8",
        include_str!("../../ui/index.html"),
    ),
    (
        "/_mock/ui/dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../../ui/dashboard.js"),
    ),
    (
        "/_mock/ui/dashboard.css",
        "text/css; charset=utf-8",
        include_str!("../../ui/dashboard.css"),
    ),
];

/// Pages may load only the dashboard's own files and call only the mock that serves them.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The dashboard's routes, and `/_mock/ui` sent on to `/_mock/ui/`.
pub(crate) fn routes() -> Router<Apis> {
    let router = Router::new().route(
        "/_mock/ui",
        get(|| async { Redirect::permanent(PATH) }).fallback(method_not_allowed),
    );
    FILES
        .iter()
        .fold(router, |router, &(path, content_type, contents)| {
            let serve = move || async move { file(content_type, contents) };
            router.route(path, get(serve).fallback(method_not_allowed))
        })
}

fn file(content_type: &'static str, contents: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-cache"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, contents).into_response()
}
