//! The answers every operation can give besides its own, added to the generated document so
//! that it lists every status the API answers with (schemathesis checks this in CI,
//! `scripts/contract`): 401 without a valid token, 404 for a path naming nothing there, 422 for
//! a body or query that is not as documented, 413 for a body too large, 503 when the database
//! or Redis is down.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// The operation that needs no token.
const OPEN: &str = "/api/v1/tokens";

pub fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            complete_operation(path, op);
        }
    }
}

fn complete_operation(path: &str, op: &mut Operation) {
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error(description));
    };
    if path != OPEN {
        add(
            "401",
            "no token, or one that is not valid (revoked, signed out everywhere)",
        );
    }
    add("503", "the database or Redis is unavailable; try again");
    let given = |place: ParameterIn| op.parameters.iter().flatten().any(|p| p.parameter_in == place);
    let (in_path, in_query) = (given(ParameterIn::Path), given(ParameterIn::Query));
    if in_path {
        add("404", "nothing with that identifier (or not any more)");
    }
    if op.request_body.is_some() || in_query {
        add(
            "422",
            "the body or query is not as documented (its message says what is wrong)",
        );
    }
    if op.request_body.is_some() {
        add("413", "the body is larger than the service takes (64 KB)");
    }
}

fn error(description: &str) -> RefOr<Response> {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", body)
            .build(),
    )
}
