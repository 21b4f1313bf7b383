//! What every operation of the OpenAPI document shares, added once after
//! the routes' annotations are collected, so that a new operation cannot
//! forget it:
//! - the answers any call can get: 401 (no or a dead token, with
//!   `WWW-Authenticate`), 403 (no `urn:mas:admin`), 503 (the database is
//!   down, with `Retry-After`), and 400 on an operation that takes a path
//!   or query parameter or a body (the text guard and the extractors refuse
//!   what does not fit before the handler runs), each with [`ErrorBody`];
//! - a path parameter `{id}` is a ULID ([`ULID_PATTERN`]; anything else
//!   is a 400).
//!
//! An operation's own description of one of these statuses is kept.
//! schemathesis holds the server to the result (crates/cli/tests/cli/
//! admin_api_schema.rs).

use utoipa::{
    openapi::{
        path::{Operation, ParameterIn},
        schema::SchemaType,
        HeaderBuilder, ObjectBuilder, OpenApi, Ref, RefOr, ResponseBuilder, Type,
    },
    PartialSchema, ToSchema,
};

use super::error::ErrorBody;

/// A ULID as the server parses one ([`super::error::parse_ulid`]): 26
/// characters of Crockford base32 in either case, the first at most `7`
/// (128 bits).
pub const ULID_PATTERN: &str = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$";

/// Adds the shared answers and the ULID schema of `{id}` to `api`.
pub fn complete(api: &mut OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    components
        .schemas
        .entry(ErrorBody::name().into_owned())
        .or_insert_with(ErrorBody::schema);
    components.schemas.insert(
        "Ulid".to_owned(),
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .pattern(Some(ULID_PATTERN))
            .description(Some("A ULID: 26 characters of Crockford base32"))
            .into(),
    );
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            complete_operation(operation);
            name_operation(operation);
        }
    }
}

/// OpenAPI asks for unique `operationId`s; the handlers' names repeat
/// across resources (`list`, `get`…), so each is prefixed with its tag:
/// `user.list`, `user-email.get`.
fn name_operation(operation: &mut Operation) {
    let tag = operation
        .tags
        .as_ref()
        .and_then(|tags| tags.first())
        .cloned();
    if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut()) {
        if !id.starts_with(&format!("{tag}.")) {
            *id = format!("{tag}.{id}");
        }
    }
}

fn complete_operation(operation: &mut Operation) {
    let mut takes_input = operation.request_body.is_some();
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        takes_input = true;
        if parameter.parameter_in == ParameterIn::Path && parameter.name == "id" {
            parameter.schema = Some(Ref::from_schema_name("Ulid").into());
        }
    }
    let mut shared = vec![
        (
            "401",
            "No access token, or one that expired or was revoked",
            Some(("WWW-Authenticate", "`Bearer`")),
        ),
        (
            "403",
            "The access token lacks the `urn:mas:admin` scope",
            None,
        ),
        (
            "503",
            "The database cannot be reached; try again",
            Some(("Retry-After", "Seconds to wait")),
        ),
    ];
    if takes_input {
        shared.push((
            "400",
            "A parameter or the body does not fit (the title says which)",
            None,
        ));
    }
    let error_body = || {
        utoipa::openapi::ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(ErrorBody::name())))
            .build()
    };
    for (status, description, header) in shared {
        let mut response = ResponseBuilder::new()
            .description(description)
            .content("application/json", error_body());
        if let Some((name, description)) = header {
            response = response.header(
                name,
                HeaderBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new().schema_type(SchemaType::Type(Type::String)),
                    ))
                    .description(Some(description))
                    .build(),
            );
        }
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| response.build().into());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn every_operation_documents_the_shared_answers_and_ulid_ids() {
        let spec: Value = serde_json::to_value(super::super::routes().1).unwrap();
        let error_ref = "#/components/schemas/ErrorBody";
        let mut ids = 0;
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let responses = &operation["responses"];
                let params = operation["parameters"].as_array();
                let takes_input =
                    params.is_some_and(|p| !p.is_empty()) || operation.get("requestBody").is_some();
                let mut expected = vec!["401", "403", "503"];
                if takes_input {
                    expected.push("400");
                }
                for status in expected {
                    let schema = &responses[status]["content"]["application/json"]["schema"];
                    assert_eq!(schema["$ref"], error_ref, "{method} {path} {status}");
                }
                assert!(responses["401"]["headers"]["WWW-Authenticate"].is_object());
                for param in params.into_iter().flatten() {
                    if param["in"] == "path" && param["name"] == "id" {
                        ids += 1;
                        let schema = &param["schema"]["$ref"];
                        assert_eq!(schema, "#/components/schemas/Ulid", "{path}");
                    }
                }
            }
        }
        assert!(ids >= 10, "{ids} operations with an {{id}}");
        let version = &spec["paths"]["/api/admin/v1/version"]["get"]["responses"];
        assert!(version["503"]["headers"]["Retry-After"].is_object());
        assert!(version.get("400").is_none(), "it takes no input");
        let ulid = &spec["components"]["schemas"]["Ulid"];
        assert_eq!(ulid["pattern"], ULID_PATTERN);
        // An operation's own words for a shared status are kept.
        let add_user = &spec["paths"]["/api/admin/v1/users"]["post"]["responses"];
        assert_eq!(
            add_user["503"]["description"],
            "The homeserver cannot be reached"
        );
    }

    #[test]
    fn operation_ids_are_unique() {
        let (_, api) = super::super::routes();
        let mut seen = std::collections::BTreeSet::new();
        for item in api.paths.paths.values() {
            for operation in [&item.get, &item.put, &item.post, &item.delete, &item.patch]
                .into_iter()
                .flatten()
            {
                let id = operation.operation_id.clone().unwrap_or_default();
                assert!(seen.insert(id.clone()), "{id} twice");
            }
        }
        assert!(seen.contains("user.list"), "{seen:?}");
    }

    /// The pattern is what `parse_id` accepts: the first character at most
    /// `7` (26 base32 digits hold 130 bits, a ULID 128), either case.
    #[test]
    fn ulid_ids_are_parsed_as_the_pattern_says() {
        use crate::handlers::admin::v1::error::parse_id;
        let largest = format!("7{}", "Z".repeat(25));
        assert_eq!(parse_id(&largest).unwrap(), ulid::Ulid(u128::MAX));
        assert!(parse_id(&largest.to_lowercase()).is_ok());
        // The crate alone would read this as 0ZZ…Z.
        assert!(parse_id(&format!("8{}", "Z".repeat(25))).is_err());
        for bad in ["", "0", "I0000000000000000000000000", "é"] {
            assert!(parse_id(bad).is_err(), "{bad:?}");
        }
        assert!(ULID_PATTERN.starts_with("^[0-7]"));
        // What the server writes fits the pattern's alphabet (no I, L, O, U).
        let written = ulid::Ulid::new().to_string();
        assert_eq!(written.len(), 26);
        assert!(written
            .chars()
            .all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c))));
    }
}
