//! The command-peer protocol's JSON Schemas, read from `stacks/PROTOCOL.md` (the one normative
//! specification: the schemas are not copied anywhere else), compiled once, and applied to every
//! line a program prints and every line the harness writes.

use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The specification, as built into the harness.
pub const PROTOCOL_MD: &str = include_str!("../../../stacks/PROTOCOL.md");

/// A line that breaks its message's schema, in the specification's words.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Violation {
    #[error("a line of no type the protocol has (type {0})")]
    UnknownType(String),
    #[error("a `{message}` line breaks its schema (PROTOCOL.md, Messages): {errors}")]
    Message { message: String, errors: String },
    #[error("an event of no type the protocol has (type {0}; PROTOCOL.md, Events)")]
    UnknownEvent(String),
    #[error("a `{event}` event breaks its schema (PROTOCOL.md, event): {errors}")]
    Event { event: String, errors: String },
}

/// Why a specification's schemas do not compile ([`Schemas::from_markdown`]).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    #[error("a schema without a title")]
    NoTitle,
    /// A message's schema (`what` is `schema TITLE`) or an event branch's (`event TYPE`).
    #[error("{what}: {message}")]
    Compile { what: String, message: String },
    #[error("the event schema has no $defs.event.oneOf")]
    NoEventBranches,
    #[error("an event branch without a type const")]
    UntypedBranch,
    #[error("no `event` schema with a oneOf of event types")]
    NoEvents,
}

/// Every message's validator, by `type`, and the `event` schema's branches by event type.
pub struct Schemas {
    messages: HashMap<String, jsonschema::Validator>,
    events: HashMap<String, jsonschema::Validator>,
}

/// The schemas of the built-in specification (compiled on first use).
pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| Schemas::from_markdown(PROTOCOL_MD).expect("stacks/PROTOCOL.md's schemas compile"))
}

/// The fenced `json` blocks of a Markdown text, in order.
pub fn json_blocks(md: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = md;
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + "```json\n".len()..];
        let Some(end) = body.find("\n```") else { break };
        blocks.push(&body[..end]);
        rest = &body[end + 4..];
    }
    blocks
}

impl Schemas {
    /// Compiles each block that declares `$schema`, keyed by its `title` (the message's type).
    pub fn from_markdown(md: &str) -> Result<Schemas, SpecError> {
        let mut messages = HashMap::new();
        let mut events = HashMap::new();
        for block in json_blocks(md) {
            let Ok(schema) = serde_json::from_str::<Value>(block) else { continue };
            if schema.get("$schema").is_none() {
                continue;
            }
            let title = schema["title"].as_str().ok_or(SpecError::NoTitle)?.to_string();
            if title == "event" {
                events = event_branches(&schema)?;
            }
            messages.insert(title.clone(), compile(&schema).map_err(|message| SpecError::Compile { what: format!("schema {title}"), message })?);
        }
        if events.is_empty() {
            return Err(SpecError::NoEvents);
        }
        Ok(Schemas { messages, events })
    }

    /// The message types the specification defines.
    pub fn message_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = self.messages.keys().map(String::as_str).collect();
        types.sort();
        types
    }

    /// Checks one line against the schema of its `type`. An `event` line whose event breaks its
    /// schema is reported by the event's own branch, so the message names the field.
    pub fn check(&self, line: &Value) -> Result<(), Violation> {
        let kind = line.get("type").and_then(Value::as_str).unwrap_or("(none)");
        let validator = self.messages.get(kind).ok_or_else(|| Violation::UnknownType(kind.to_string()))?;
        if validator.is_valid(line) {
            return Ok(());
        }
        if kind == "event" {
            if let Some(event) = line.get("event").filter(|e| e.is_object()) {
                let event_type = event.get("type").and_then(Value::as_str).unwrap_or("(none)");
                let branch = self.events.get(event_type).ok_or_else(|| Violation::UnknownEvent(event_type.to_string()))?;
                if !branch.is_valid(event) {
                    return Err(Violation::Event { event: event_type.to_string(), errors: errors(branch, event) });
                }
            }
        }
        Err(Violation::Message { message: kind.to_string(), errors: errors(validator, line) })
    }
}

fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::draft202012::new(schema).map_err(|e| e.to_string())
}

/// One validator per event type: each branch of `$defs.event.oneOf`, with the schema's `$defs`
/// beside it so that its `#/$defs/...` references resolve.
fn event_branches(schema: &Value) -> Result<HashMap<String, jsonschema::Validator>, SpecError> {
    let defs = &schema["$defs"];
    let branches = defs["event"]["oneOf"].as_array().ok_or(SpecError::NoEventBranches)?;
    let mut out = HashMap::new();
    for branch in branches {
        let name = branch["properties"]["type"]["const"].as_str().ok_or(SpecError::UntypedBranch)?;
        let mut alone = branch.clone();
        alone["$defs"] = defs.clone();
        out.insert(name.to_string(), compile(&alone).map_err(|message| SpecError::Compile { what: format!("event {name}"), message })?);
    }
    Ok(out)
}

/// The first few errors, each with where in the line it is.
fn errors(validator: &jsonschema::Validator, instance: &Value) -> String {
    let found: Vec<String> = validator
        .iter_errors(instance)
        .take(3)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("at {}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    found.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_message_of_the_specification_has_a_schema() {
        let types = schemas().message_types();
        for t in ["hello", "setup", "ready", "fail", "perform", "done", "event", "collect_stats", "close", "closed", "floor"] {
            assert!(types.contains(&t), "no schema for {t}: {types:?}");
        }
    }

    /// Every example line of the specification is valid under its own message's schema, and every
    /// message has one.
    #[test]
    fn every_example_is_valid() {
        let mut seen: Vec<String> = Vec::new();
        for block in json_blocks(PROTOCOL_MD) {
            if block.contains("\"$schema\"") {
                continue;
            }
            for value in serde_json::Deserializer::from_str(block).into_iter::<Value>() {
                let Ok(line) = value else { break };
                // Examples of a kinds file or a stats summary are not lines.
                if line.get("type").is_none() {
                    continue;
                }
                assert_eq!(schemas().check(&line), Ok(()), "{line}");
                seen.push(line["type"].as_str().unwrap_or_default().to_string());
            }
        }
        for t in schemas().message_types() {
            assert!(seen.iter().any(|s| s == t), "no example of {t}");
        }
    }

    #[test]
    fn an_event_out_of_its_enum_is_named_by_its_field() {
        let line = json!({"type": "event", "t": 1.0, "event": {"type": "signaling_state", "state": "open"}});
        match schemas().check(&line) {
            Err(Violation::Event { event, errors }) => {
                assert_eq!(event, "signaling_state");
                assert!(errors.contains("/state"), "{errors}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_types_and_missing_fields_are_violations() {
        assert_eq!(schemas().check(&json!({"type": "helo"})), Err(Violation::UnknownType("helo".into())));
        let unknown_event = json!({"type": "event", "t": 1.0, "event": {"type": "frame"}});
        assert_eq!(schemas().check(&unknown_event), Err(Violation::UnknownEvent("frame".into())));
        let done = schemas().check(&json!({"type": "done"}));
        assert!(matches!(&done, Err(Violation::Message { message, errors }) if message == "done" && errors.contains("id")), "{done:?}");
        let hello = json!({"type": "hello", "protocol": 2, "stack": "x", "version": "1"});
        assert!(schemas().check(&hello).is_err());
    }

    #[test]
    fn a_stats_summary_out_of_its_shape_is_refused() {
        let summary = json!({"inbound_rtp": [], "outbound_rtp": [], "candidate_pair": {"local": "host", "currentRoundTripTime": -1}});
        let line = json!({"type": "event", "t": 1.0, "event": {"type": "stats", "summary": summary}});
        assert!(matches!(schemas().check(&line), Err(Violation::Event { .. })));
    }
}
