//! The JSON API under `/api/v1`: the duty desk's operations for programs (and screen-reader
//! users who prefer their own client). Every request but `POST /api/v1/tokens` needs
//! `Authorization: Bearer <token>`; every error has one shape:
//! `{"error": {"code": "…", "message": "…"}}`. The OpenAPI 3 document at
//! `/api/v1/openapi.json` is generated from these handlers, so it lists exactly the routes served.

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod admin;
mod contract;

use super::staff::ApiStaff;
use crate::app::AppState;
use crate::auth::login::{self, LoginError};
use crate::desk::case::{self, CaseFile, CaseSummary, Close, Cost, MessageView};
use crate::desk::queue::{self, Duty, OfferView, QueueEntry};
use crate::desk::roster::{self, ImportError, Imported, RosterEntry};
use crate::desk::DeskError;
use crate::domain::Role;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("需要有效的接口令牌（请求头 Authorization: Bearer <令牌>）")]
    Unauthorized,
    /// A body or query that is not as documented (the detail is the decoder's).
    #[error("请求内容不符合接口说明：{0}")]
    Body(String),
    #[error("这个接口不接受 {0} 请求")]
    Method(String),
    /// Kilobytes allowed.
    #[error("请求内容超过 {0} KB")]
    TooLarge(usize),
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error(transparent)]
    Import(ImportError),
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Desk(e) => ApiError::Desk(e),
            e => ApiError::Import(e),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// unauthorized, forbidden, not_found, method_not_allowed, invalid, conflict,
    /// too_many_requests, payload_too_large, provider, unavailable
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::Unauthorized | ApiError::Login(LoginError::Wrong) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Login(LoginError::TooMany(_)) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::Body(_) | ApiError::Desk(DeskError::Invalid(_)) | ApiError::Import(ImportError::Invalid(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
            }
            ApiError::Desk(DeskError::Forbidden(_)) | ApiError::Import(ImportError::Outside { .. }) => {
                (StatusCode::FORBIDDEN, "forbidden")
            }
            ApiError::Desk(DeskError::NotFound(_)) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Method(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Desk(DeskError::Conflict(_)) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Desk(DeskError::Provider(e)) => {
                tracing::warn!(error = %e, "API request: provider refused");
                (StatusCode::BAD_GATEWAY, "provider")
            }
            ApiError::Login(LoginError::Storage(_)) | ApiError::Desk(_) | ApiError::Import(ImportError::Desk(_)) => {
                tracing::error!(error = %self, "API request failed");
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.to_string(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::Login(LoginError::TooMany(secs)) = &self {
            response.headers_mut().insert(header::RETRY_AFTER, (*secs).into());
        }
        response
    }
}

type Body<T> = Result<Json<T>, JsonRejection>;

fn body<T>(b: Body<T>) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|e| ApiError::Body(e.body_text()))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "12348 hotline duty desk API", version = "1"),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The routes and the OpenAPI document describing exactly them.
pub fn routes() -> axum::Router<AppState> {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(token))
        .routes(routes!(me))
        .routes(routes!(get_duty, put_duty))
        .routes(routes!(get_queue))
        .routes(routes!(claim))
        .routes(routes!(get_offers))
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(cases))
        .routes(routes!(case_file))
        .routes(routes!(note))
        .routes(routes!(close))
        .routes(routes!(call_back))
        .routes(routes!(recording))
        .routes(routes!(thread, reply))
        .routes(routes!(segments))
        .routes(routes!(get_roster, import_roster))
        .routes(routes!(admin::list))
        .routes(routes!(admin::sign_out))
        .routes(routes!(admin::search))
        .split_for_parts();
    contract::complete(&mut doc);
    let doc = std::sync::Arc::new(doc);
    router.route(
        "/api/v1/openapi.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { Json((*doc).clone()) }
        }),
    )
}

#[derive(Deserialize, ToSchema)]
struct Credentials {
    username: String,
    password: String,
    /// What the token is for (shown nowhere but the database).
    #[serde(default)]
    label: String,
    /// The current code of the account's authenticator app, if it has a second factor.
    #[serde(default)]
    code: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct NewToken {
    token: String,
}

/// Exchange a username and password for an API token (throttled like a console sign-in from a
/// new browser; a 429 says in `Retry-After` how many seconds to wait).
#[utoipa::path(post, path = "/api/v1/tokens", security(()), request_body = Credentials,
    responses((status = 201, body = NewToken), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, headers(("Retry-After" = u64, description = "seconds to wait before the next attempt")))))]
async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    b: Body<Credentials>,
) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    let c = body(b)?;
    let attempt = login::Attempt {
        username: &c.username,
        password: &c.password,
        code: c.code.as_deref(),
    };
    let staff = login::check(&state, &attempt, peer.ip(), None).await?.staff;
    let label = if c.label.trim().is_empty() {
        "api"
    } else {
        c.label.trim()
    };
    let token = login::new_token(&state.db, &staff.id, label)
        .await
        .map_err(|e| ApiError::Desk(e.into()))?;
    Ok((StatusCode::CREATED, Json(NewToken { token })))
}

#[derive(Serialize, ToSchema)]
struct Me {
    username: String,
    name: String,
    role: Role,
    region: Option<String>,
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(ApiStaff(s): ApiStaff) -> Json<Me> {
    Json(Me {
        username: s.username,
        name: s.name,
        role: s.role,
        region: s.region,
    })
}

/// Whether the lawyer is on duty (offers come only then). Lawyers only.
#[utoipa::path(get, path = "/api/v1/duty", responses((status = 200, body = Duty), (status = 403, body = ErrorBody)))]
async fn get_duty(State(state): State<AppState>, ApiStaff(s): ApiStaff) -> Result<Json<Duty>, ApiError> {
    Ok(Json(queue::duty(&state, &s).await?))
}

#[derive(Deserialize, ToSchema)]
struct DutyChange {
    on_duty: bool,
}

/// Go on or off duty. Lawyers only.
#[utoipa::path(put, path = "/api/v1/duty", request_body = DutyChange,
    responses((status = 200, body = Duty), (status = 403, body = ErrorBody)))]
async fn put_duty(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    b: Body<DutyChange>,
) -> Result<Json<Duty>, ApiError> {
    let change = body(b)?;
    Ok(Json(queue::set_duty(&state, &s, change.on_duty).await?))
}

/// Consultations waiting for a callback that the account may see, most urgent first.
#[utoipa::path(get, path = "/api/v1/queue", responses((status = 200, body = Vec<QueueEntry>)))]
async fn get_queue(State(state): State<AppState>, ApiStaff(s): ApiStaff) -> Result<Json<Vec<QueueEntry>>, ApiError> {
    Ok(Json(queue::queue(&state, &s).await?))
}

/// Claim the next case: the best one the lawyer may take is offered to them (204: none waiting).
#[utoipa::path(post, path = "/api/v1/queue/claim",
    responses((status = 200, body = OfferView), (status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn claim(State(state): State<AppState>, ApiStaff(s): ApiStaff) -> Result<Response, ApiError> {
    Ok(match queue::claim(&state, &s).await? {
        Some(offer) => Json(offer).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The lawyer's offers and callbacks in progress. Lawyers only.
#[utoipa::path(get, path = "/api/v1/offers", responses((status = 200, body = Vec<OfferView>), (status = 403, body = ErrorBody)))]
async fn get_offers(State(state): State<AppState>, ApiStaff(s): ApiStaff) -> Result<Json<Vec<OfferView>>, ApiError> {
    Ok(Json(queue::offers(&state, &s).await?))
}

/// Accept an offer: the lawyer's phone rings, then the caller's (a texter's thread becomes theirs).
#[utoipa::path(post, path = "/api/v1/offers/{assignment}/accept", params(("assignment" = String, Path)),
    responses((status = 200, body = OfferView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn accept(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    Path(assignment): Path<String>,
) -> Result<Json<OfferView>, ApiError> {
    Ok(Json(queue::accept(&state, &s, &assignment).await?))
}

/// Decline an offer: it goes to the next eligible lawyer.
#[utoipa::path(post, path = "/api/v1/offers/{assignment}/decline", params(("assignment" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decline(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    Path(assignment): Path<String>,
) -> Result<StatusCode, ApiError> {
    queue::decline(&state, &s, &assignment).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The cases on the account's desk: a lawyer's own, a supervisor's region's, all for admins.
#[utoipa::path(get, path = "/api/v1/consultations", responses((status = 200, body = Vec<CaseSummary>)))]
async fn cases(State(state): State<AppState>, ApiStaff(s): ApiStaff) -> Result<Json<Vec<CaseSummary>>, ApiError> {
    Ok(Json(case::cases(&state, &s).await?))
}

/// A case with the caller's archive. Every read is audited.
#[utoipa::path(get, path = "/api/v1/consultations/{ticket}", params(("ticket" = String, Path)),
    responses((status = 200, body = CaseFile), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn case_file(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    Path(ticket): Path<String>,
) -> Result<Json<CaseFile>, ApiError> {
    Ok(Json(case::open(&state, &s, &ticket).await?))
}

/// Audio as the provider keeps it (WAV from Twilio).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
struct AudioBytes(#[allow(dead_code)] Vec<u8>);

/// A recording's audio, streamed from the provider.
///
/// `Range: bytes=…` gives a part, to seek (206 with Content-Range). Every play is audited. The
/// console's player has its own route with the same answers.
#[utoipa::path(get, path = "/api/v1/consultations/{ticket}/recordings/{id}",
    params(("ticket" = String, Path), ("id" = String, Path, description = "a recording's id from the case file"),
        ("Range" = Option<String>, Header, description = "one byte range, e.g. bytes=0-1023")),
    responses(
        (status = 200, description = "the whole recording", content_type = "audio/*", body = AudioBytes),
        (status = 206, description = "the range asked for, with Content-Range", content_type = "audio/*", body = AudioBytes),
        (status = 403, body = ErrorBody),
        (status = 404, description = "no such recording, or its audio was deleted (retention)", body = ErrorBody),
        (status = 416, description = "the range starts past the end (Content-Range: bytes */length)"),
        (status = 502, body = ErrorBody)))]
async fn recording(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    Path((ticket, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let audio = crate::desk::recording::audio(&state, &s, &ticket, &id).await?;
    Ok(super::recording::respond(audio, &headers))
}

/// A note: 1 to 4000 characters, not only spaces.
#[derive(Deserialize, ToSchema)]
struct Text {
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    text: String,
}

/// An SMS text: 1 to 1000 characters, not only spaces.
#[derive(Deserialize, ToSchema)]
struct SmsText {
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    text: String,
}

/// Add a note to the case.
#[utoipa::path(post, path = "/api/v1/consultations/{ticket}/notes", params(("ticket" = String, Path)), request_body = Text,
    responses((status = 201), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn note(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    Path(ticket): Path<String>,
    b: Body<Text>,
) -> Result<StatusCode, ApiError> {
    case::add_note(&state, &s, &ticket, &body(b)?.text).await?;
    Ok(StatusCode::CREATED)
}

/// Close the case with the Art. 22 service form given and the outcome.
#[utoipa::path(post, path = "/api/v1/consultations/{ticket}/close", params(("ticket" = String, Path)), request_body = Close,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn close(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    Path(ticket): Path<String>,
    b: Body<Close>,
) -> Result<StatusCode, ApiError> {
    case::close(&state, &s, &ticket, &body(b)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Call the caller back (accepts the lawyer's offer of this case).
#[utoipa::path(post, path = "/api/v1/consultations/{ticket}/call-back", params(("ticket" = String, Path)),
    responses((status = 200, body = OfferView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn call_back(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    Path(ticket): Path<String>,
) -> Result<Json<OfferView>, ApiError> {
    Ok(Json(case::call_back(&state, &s, &ticket).await?))
}

/// The case's SMS thread, oldest first.
#[utoipa::path(get, path = "/api/v1/consultations/{ticket}/messages", params(("ticket" = String, Path)),
    responses((status = 200, body = Vec<MessageView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn thread(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    Path(ticket): Path<String>,
) -> Result<Json<Vec<MessageView>>, ApiError> {
    Ok(Json(case::open(&state, &s, &ticket).await?.messages))
}

/// Reply by SMS in the case's thread, from the hotline number.
#[utoipa::path(post, path = "/api/v1/consultations/{ticket}/messages", params(("ticket" = String, Path)), request_body = SmsText,
    responses((status = 201, body = Cost), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reply(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    Path(ticket): Path<String>,
    b: Body<SmsText>,
) -> Result<(StatusCode, Json<Cost>), ApiError> {
    let cost = case::reply(&state, &s, &ticket, &body(b)?.text).await?;
    tracing::info!(parts = cost.parts, "lawyer's SMS reply sent through the API");
    Ok((StatusCode::CREATED, Json(cost)))
}

/// What a reply would cost before it is sent.
#[utoipa::path(post, path = "/api/v1/sms/segments", request_body = SmsText, responses((status = 200, body = Cost)))]
async fn segments(_staff: ApiStaff, b: Body<SmsText>) -> Result<Json<Cost>, ApiError> {
    Ok(Json(case::segments(&body(b)?.text)?))
}

/// The roster: lawyers, presence, shifts, load. Supervisors (their region) and admins.
#[utoipa::path(get, path = "/api/v1/roster", responses((status = 200, body = Vec<RosterEntry>), (status = 403, body = ErrorBody)))]
async fn get_roster(State(state): State<AppState>, ApiStaff(s): ApiStaff) -> Result<Json<Vec<RosterEntry>>, ApiError> {
    Ok(Json(roster::roster(&state, &s).await?))
}

#[derive(Deserialize, ToSchema)]
struct RosterFile {
    /// A roster CSV (README, "Rosters").
    #[schema(min_length = 1)]
    csv: String,
}

/// Add or update lawyers from a roster CSV; nothing is stored unless every row is valid.
#[utoipa::path(post, path = "/api/v1/roster", request_body = RosterFile,
    responses((status = 200, body = Imported), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import_roster(
    State(state): State<AppState>,
    ApiStaff(s): ApiStaff,
    b: Body<RosterFile>,
) -> Result<Json<Imported>, ApiError> {
    Ok(Json(roster::import(&state, &s, &body(b)?.csv).await?))
}
