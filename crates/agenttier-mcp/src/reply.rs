//! Turning SDK answers into MCP tool results: JSON with snake_case fields on success, and on
//! failure a tool error (`isError: true`) that names the error class, carries the message and
//! says what to do next. Every tool goes through here, so all of them answer the same way.

use agenttier::Error;
use rmcp::model::{CallToolResult, ContentBlock};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// A tool's outcome. Tools never fail at the protocol level: even errors are results.
pub(crate) type Outcome = CallToolResult;

/// The outcome of an SDK call: its value as JSON, or its error as a tool error.
pub(crate) fn reply<T: Serialize>(result: agenttier::Result<T>) -> Outcome {
    match result {
        Ok(value) => ok(to_json(&value)),
        Err(e) => failure(&e),
    }
}

/// The outcome of an SDK call that returns nothing: `done` on success.
pub(crate) fn reply_with(result: agenttier::Result<()>, done: Value) -> Outcome {
    match result {
        Ok(()) => ok(done),
        Err(e) => failure(&e),
    }
}

/// A success carrying `value`: as JSON text for every client, and as structured content (which
/// must be an object: a list goes under `result`, as the platform's Python server does).
pub(crate) fn ok(value: Value) -> Outcome {
    let mut result = CallToolResult::success(vec![ContentBlock::text(value.to_string())]);
    result.structured_content = Some(if value.is_object() {
        value
    } else {
        json!({ "result": value })
    });
    result
}

/// A model serialized with snake_case field names.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Value {
    // The models' serializers cannot fail (no maps with non-string keys); a failure would still
    // come back as a JSON string rather than a panic.
    snake_case_keys(serde_json::to_value(value).unwrap_or_else(|e| Value::String(e.to_string())))
}

/// Objects whose keys are data (label names, preference names), not field names: left as they are.
const DATA_MAPS: [&str; 4] = ["labels", "annotations", "preferences", "metadata"];

/// Renames the wire's camelCase field names to snake_case, recursively. Only keys that look
/// like field names (an ASCII lowercase letter, then letters and digits) are renamed, so data
/// keys such as phases (`Running`), quantities or `app.kubernetes.io/name` stay intact.
pub(crate) fn snake_case_keys(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(snake_case_keys).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = if DATA_MAPS.contains(&key.as_str()) {
                        value
                    } else {
                        snake_case_keys(value)
                    };
                    (snake_case(&key), value)
                })
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

fn snake_case(key: &str) -> String {
    let is_field_name =
        key.starts_with(|c: char| c.is_ascii_lowercase()) && key.chars().all(|c| c.is_ascii_alphanumeric());
    if !is_field_name {
        return key.to_owned();
    }
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A tool error for an SDK error: `{error, message, hint, ...}` with the HTTP status, request id
/// and policy violations when there are any.
pub(crate) fn failure(e: &Error) -> Outcome {
    let (class, hint) = classify(e);
    let mut body = json!({ "error": class, "message": e.to_string(), "hint": hint });
    if let Some(api) = e.api() {
        body["status"] = json!(api.status);
        if let Some(id) = &api.request_id {
            body["request_id"] = json!(id);
        }
        if let Some(code) = &api.code {
            body["code"] = json!(code);
        }
    }
    if let Error::PolicyViolation { violations, .. } = e {
        body["violations"] = to_json(violations);
    }
    body["retryable"] = json!(e.is_retryable());
    tool_error(body)
}

/// A tool error of our own (bad arguments, cancellation): `{error, message, hint}`.
fn refuse(class: &str, message: impl Into<String>, hint: &str) -> Outcome {
    tool_error(json!({ "error": class, "message": message.into(), "hint": hint }))
}

/// Refuses arguments the SDK would never see (bad durations, encodings ...).
pub(crate) fn invalid_argument(message: impl Into<String>) -> Outcome {
    refuse(
        "invalid_arguments",
        message,
        "fix the argument as the message says; tools/list has each tool's input schema",
    )
}

/// The tool error of a cancelled request (clients usually ignore it: they asked for the cancel).
pub(crate) fn cancelled(what: &str) -> Outcome {
    refuse(
        "cancelled",
        format!("the request was cancelled: {what}"),
        "nothing to do; call the tool again to retry",
    )
}

fn tool_error(body: Value) -> Outcome {
    let mut result = CallToolResult::error(vec![ContentBlock::text(body.to_string())]);
    result.structured_content = Some(body);
    result
}

/// The error class (the Python SDK's hierarchy, in snake_case) and what the caller should do.
fn classify(e: &Error) -> (&'static str, &'static str) {
    match e {
        Error::Authentication { .. } => (
            "authentication",
            "the MCP server's AgentTier credentials are missing or were rejected: give the server AGENTTIER_API_KEY or AGENTTIER_TOKEN (or run `agenttier login`) and restart it",
        ),
        Error::Authorization { .. } => (
            "authorization",
            "the server's credentials may not do this: fleet and admin tools need an admin key; use your own sandboxes, or ask an administrator",
        ),
        Error::PolicyViolation { .. } => (
            "policy_violation",
            "a governance policy refused it (see violations): stay within the limits that governance_effective_policy shows, or free quota by terminating sandboxes you no longer need",
        ),
        Error::NotFound { .. } => (
            "not_found",
            "check the id or path: sandbox_list, template_list, file_list, backup_list and webhook_list show what exists",
        ),
        Error::Conflict { .. } => (
            "conflict",
            "it exists already or is in the wrong state: check sandbox_status, pick another name, or wait for the current operation to finish",
        ),
        Error::SandboxTimeout { .. } => (
            "sandbox_timeout",
            "the sandbox is not Running yet: call sandbox_wait again, or check sandbox_status",
        ),
        Error::SandboxErrorState { .. } => (
            "sandbox_error_state",
            "the sandbox failed: read the message in sandbox_status, then sandbox_resume it or terminate it and create a new one",
        ),
        Error::Timeout { .. } => (
            "timeout",
            "the Router did not answer in time: retry, or pass a larger timeout where the tool takes one",
        ),
        Error::Transport { .. } => (
            "transport",
            "the Router could not be reached: check that it runs and that the MCP server's AGENTTIER_API_URL points at it",
        ),
        Error::InvalidInput { .. } => (
            "invalid_input",
            "fix the argument as the message says; tools/list has each tool's input schema",
        ),
        Error::Config { .. } => (
            "configuration",
            "fix the MCP server's configuration (AGENTTIER_API_URL, credentials) and restart it",
        ),
        Error::Decode { .. } | Error::Stream { .. } => (
            "protocol",
            "the Router's answer was not understood or was cut off: retry, and report it if it persists",
        ),
        Error::Api { .. } if e.is_retryable() => ("api_error", "the Router is busy or failing: retry in a moment"),
        Error::Api { .. } => (
            "api_error",
            "the Router refused the request: check the arguments against the message",
        ),
        _ => ("error", "see the message"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_field_names_only() {
        let wire = json!({"sandboxId": "a", "podName": "p", "labels": {"myLabel": "x"},
            "byStatus": {"Running": 2, "app.kubernetes.io/name": 1}, "items": [{"exitCode": 0}]});
        assert_eq!(
            snake_case_keys(wire),
            json!({"sandbox_id": "a", "pod_name": "p", "labels": {"myLabel": "x"},
                "by_status": {"Running": 2, "app.kubernetes.io/name": 1}, "items": [{"exit_code": 0}]})
        );
    }

    #[test]
    fn errors_are_tool_errors_with_class_and_hint() {
        let result = failure(&Error::invalid_input("sandbox name must not be empty"));
        assert_eq!(result.is_error, Some(true));
        let body = result.structured_content.unwrap();
        assert_eq!(body["error"], "invalid_input");
        assert!(body["message"].as_str().unwrap().contains("must not be empty"));
        assert!(!body["hint"].as_str().unwrap().is_empty());
    }
}
