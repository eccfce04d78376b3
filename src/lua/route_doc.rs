//! A plugin route's description for the API document (`GET /api/openapi.json`): the
//! optional fourth argument of `rackscope.route`, read and checked when the route is
//! registered, so that a malformed description fails the load at the author's line, like
//! any other misuse.
//!
//! ```lua
//! rackscope.route("GET", "/api/hello/{name}", handler, {
//!   summary = "Greets someone",
//!   params = { name = { type = "string", description = "Who to greet" } },
//!   query = { lang = { type = "string", enum = { "en", "fr" } } },
//!   responses = { [200] = { type = "object", properties = { message = { type = "string" } } },
//!                 [404] = "Nobody by that name" },
//! })
//! ```
//!
//! Schemas are JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) written as Lua
//! tables. Every keyword is checked against what it must hold (a schema, a list of
//! schemas, a map of schemas, a list of strings, a number...), and an unknown keyword is
//! refused, so a typo (`propertis`) is reported instead of silently describing nothing.
//! `$ref` is refused: a plugin's schemas are self-contained.

use std::collections::BTreeMap;

use mlua::{Lua, LuaSerdeExt, Table, Value};
use serde_json::{Map, Value as Json};

use super::errors::type_name;
use super::routes::PathPattern;

/// What a plugin says about one of its routes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteDoc {
    pub summary: Option<String>,
    pub description: Option<String>,
    /// Path parameters by name (each a parameter of the route's pattern): their schema.
    pub params: BTreeMap<String, Json>,
    /// Query parameters by name.
    pub query: BTreeMap<String, QueryParam>,
    /// The JSON Schema of the request body (a body is then required).
    pub body: Option<Json>,
    /// Answers by status (100..=599).
    pub responses: BTreeMap<u16, Answer>,
}

/// One query parameter: its schema, and whether the route needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryParam {
    pub required: bool,
    pub schema: Json,
}

/// One documented answer: a description, and the JSON Schema of its body when the plugin
/// gave one (a bare description string gives none: the host's error shape is used).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub description: Option<String>,
    pub schema: Option<Json>,
}

/// Reads a description table for a route on `pattern`. The error says where in the table
/// the problem is (`responses[200].properties.name.type: ...`).
pub fn parse(lua: &Lua, t: &Table, pattern: &PathPattern) -> Result<RouteDoc, String> {
    let mut doc = RouteDoc::default();
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let Value::String(key) = &k else {
            return Err(format!(
                "description keys are names, got a {} key",
                type_name(&k)
            ));
        };
        let key = key.to_str().map_err(|e| e.to_string())?.to_string();
        match key.as_str() {
            "summary" => doc.summary = Some(string(&v, "summary")?),
            "description" => doc.description = Some(string(&v, "description")?),
            "params" => {
                for (name, schema) in named(&v, "params")? {
                    if !pattern.params().any(|p| p == name) {
                        return Err(format!(
                            "params.{name}: '{name}' is not a parameter of the path"
                        ));
                    }
                    let schema = schema_of(lua, &schema, &format!("params.{name}"))?;
                    doc.params.insert(name, schema);
                }
            }
            "query" => {
                for (name, spec) in named(&v, "query")? {
                    let at = format!("query.{name}");
                    let Value::Table(spec) = &spec else {
                        return Err(format!(
                            "{at}: a schema table expected, got {}",
                            type_name(&spec)
                        ));
                    };
                    // `required = true` belongs to the parameter, not to its schema
                    // (where `required` is a list of property names).
                    let flag = spec.raw_get::<Value>("required").map_err(|e| e.to_string())?;
                    let required = matches!(flag, Value::Boolean(true));
                    let skip = matches!(flag, Value::Boolean(_)).then_some("required");
                    let schema = schema_table(lua, spec, &at, skip)?;
                    doc.query.insert(name, QueryParam { required, schema });
                }
            }
            "body" => doc.body = Some(schema_of(lua, &v, "body")?),
            "responses" => {
                let Value::Table(answers) = &v else {
                    return Err(format!(
                        "responses: a table of status = schema expected, got {}",
                        type_name(&v)
                    ));
                };
                for pair in answers.clone().pairs::<Value, Value>() {
                    let (status, answer) = pair.map_err(|e| e.to_string())?;
                    let status = status_of(&status)?;
                    let at = format!("responses[{status}]");
                    let answer = match &answer {
                        Value::String(s) => Answer {
                            description: Some(s.to_str().map_err(|e| e.to_string())?.to_string()),
                            schema: None,
                        },
                        _ => {
                            let schema = schema_of(lua, &answer, &at)?;
                            Answer {
                                description: schema
                                    .get("description")
                                    .and_then(Json::as_str)
                                    .map(str::to_string),
                                schema: Some(schema),
                            }
                        }
                    };
                    doc.responses.insert(status, answer);
                }
            }
            other => {
                return Err(format!(
                    "unknown key '{other}' (expected summary, description, params, query, body, responses)"
                ))
            }
        }
    }
    Ok(doc)
}

fn string(v: &Value, at: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.to_str().map_err(|e| e.to_string())?.to_string()),
        other => Err(format!("{at}: string expected, got {}", type_name(other))),
    }
}

/// The entries of a `name = value` table, in name order.
fn named(v: &Value, at: &str) -> Result<Vec<(String, Value)>, String> {
    let Value::Table(t) = v else {
        return Err(format!(
            "{at}: a table of name = schema expected, got {}",
            type_name(v)
        ));
    };
    let mut out = Vec::new();
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        match k {
            Value::String(s) => out.push((s.to_str().map_err(|e| e.to_string())?.to_string(), v)),
            other => {
                return Err(format!(
                    "{at}: keys are parameter names, got a {} key",
                    type_name(&other)
                ))
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A status key: an integer 100..=599 (or its digits as a string).
fn status_of(v: &Value) -> Result<u16, String> {
    let n = match v {
        Value::Integer(i) => Some(*i),
        Value::Number(f) if f.fract() == 0.0 => Some(*f as i64),
        Value::String(s) => s.to_str().ok().and_then(|s| s.trim().parse::<i64>().ok()),
        _ => None,
    };
    match n {
        Some(n) if (100..=599).contains(&n) => Ok(n as u16),
        _ => Err(format!(
            "responses: keys are HTTP statuses 100..599, got {}",
            describe(v)
        )),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => i.to_string(),
        Value::Number(f) => f.to_string(),
        Value::String(s) => format!("'{}'", s.to_string_lossy()),
        other => type_name(other).to_string(),
    }
}

/// What a JSON Schema keyword holds.
#[derive(Clone, Copy)]
enum Kind {
    Schema,
    SchemaOrBool,
    SchemaMap,
    SchemaList,
    Strings,
    Types,
    List,
    Any,
    Number,
    PositiveNumber,
    Count,
    Bool,
    Text,
    Regex,
}

/// The keywords a plugin's schema may use (JSON Schema 2020-12 as OpenAPI 3.1 takes it,
/// without references).
fn keyword(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "type" => Types,
        "properties" | "patternProperties" | "dependentSchemas" => SchemaMap,
        "items" | "contains" | "propertyNames" | "not" | "if" | "then" | "else" => Schema,
        "additionalProperties" | "unevaluatedProperties" | "unevaluatedItems" => SchemaOrBool,
        "allOf" | "anyOf" | "oneOf" | "prefixItems" => SchemaList,
        "required" => Strings,
        "enum" | "examples" => List,
        "const" | "default" | "example" => Any,
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => Number,
        "multipleOf" => PositiveNumber,
        "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties" | "maxProperties"
        | "minContains" | "maxContains" => Count,
        "uniqueItems" | "deprecated" | "readOnly" | "writeOnly" => Bool,
        "title" | "description" | "format" | "contentMediaType" | "contentEncoding"
        | "$comment" => Text,
        "pattern" => Regex,
        _ => return None,
    })
}

const TYPES: [&str; 7] = [
    "null", "boolean", "object", "array", "number", "string", "integer",
];

/// A schema written as a Lua table (or `true`/`false`), checked and turned into JSON.
pub fn schema_of(lua: &Lua, v: &Value, at: &str) -> Result<Json, String> {
    match v {
        Value::Boolean(b) => Ok(Json::Bool(*b)),
        Value::Table(t) => schema_table(lua, t, at, None),
        other => Err(format!(
            "{at}: a schema table expected, got {}",
            type_name(other)
        )),
    }
}

/// A schema table, leaving out the key `skip` (read by the caller).
fn schema_table(lua: &Lua, t: &Table, at: &str, skip: Option<&str>) -> Result<Json, String> {
    let mut out = Map::new();
    let mut entries = Vec::new();
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let Value::String(k) = &k else {
            return Err(format!(
                "{at}: a schema's keys are keywords, got a {} key {}",
                type_name(&k),
                describe(&k)
            ));
        };
        let k = k.to_str().map_err(|e| e.to_string())?.to_string();
        if Some(k.as_str()) != skip {
            entries.push((k, v));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, v) in entries {
        let here = format!("{at}.{key}");
        let kind = if key.starts_with("x-") {
            Kind::Any
        } else if key == "$ref" {
            return Err(format!(
                "{here}: references are not supported; write the schema out"
            ));
        } else if key == "nullable" {
            return Err(format!(
                "{here}: 'nullable' is OpenAPI 3.0; write type = {{ \"string\", \"null\" }}"
            ));
        } else {
            keyword(&key).ok_or_else(|| format!("{here}: unknown JSON Schema keyword '{key}'"))?
        };
        out.insert(key, value_of(lua, kind, &v, &here)?);
    }
    Ok(Json::Object(out))
}

fn value_of(lua: &Lua, kind: Kind, v: &Value, at: &str) -> Result<Json, String> {
    let number = |v: &Value| match v {
        Value::Integer(i) => Some(Json::from(*i)),
        Value::Number(f) => serde_json::Number::from_f64(*f).map(Json::Number),
        _ => None,
    };
    match kind {
        Kind::Schema => schema_of(lua, v, at),
        Kind::SchemaOrBool => schema_of(lua, v, at),
        Kind::SchemaMap => {
            let mut m = Map::new();
            for (name, s) in named(v, at)? {
                let s = schema_of(lua, &s, &format!("{at}.{name}"))?;
                m.insert(name, s);
            }
            Ok(Json::Object(m))
        }
        Kind::SchemaList => {
            let items = sequence(v, at)?;
            if items.is_empty() {
                return Err(format!("{at}: at least one schema expected"));
            }
            let list = items
                .iter()
                .enumerate()
                .map(|(i, s)| schema_of(lua, s, &format!("{at}[{}]", i + 1)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Json::Array(list))
        }
        Kind::Strings => {
            let list = sequence(v, at)?
                .iter()
                .enumerate()
                .map(|(i, s)| string(s, &format!("{at}[{}]", i + 1)).map(Json::String))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Json::Array(list))
        }
        Kind::Types => {
            let one = |v: &Value, at: &str| -> Result<Json, String> {
                let name = string(v, at)?;
                if TYPES.contains(&name.as_str()) {
                    Ok(Json::String(name))
                } else {
                    Err(format!(
                        "{at}: '{name}' is not a JSON Schema type (one of {})",
                        TYPES.join(", ")
                    ))
                }
            };
            match v {
                Value::String(_) => one(v, at),
                _ => {
                    let list = sequence(v, at)?;
                    if list.is_empty() {
                        return Err(format!("{at}: at least one type expected"));
                    }
                    list.iter()
                        .enumerate()
                        .map(|(i, t)| one(t, &format!("{at}[{}]", i + 1)))
                        .collect::<Result<Vec<_>, _>>()
                        .map(Json::Array)
                }
            }
        }
        Kind::List => {
            let list = sequence(v, at)?
                .iter()
                .map(|x| any(lua, x, at))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Json::Array(list))
        }
        Kind::Any => any(lua, v, at),
        Kind::Number => {
            number(v).ok_or_else(|| format!("{at}: number expected, got {}", type_name(v)))
        }
        Kind::PositiveNumber => match number(v) {
            Some(n) if n.as_f64().is_some_and(|f| f > 0.0) => Ok(n),
            _ => Err(format!(
                "{at}: a number above 0 expected, got {}",
                describe(v)
            )),
        },
        Kind::Count => match v {
            Value::Integer(i) if *i >= 0 => Ok(Json::from(*i)),
            Value::Number(f) if *f >= 0.0 && f.fract() == 0.0 => Ok(Json::from(*f as i64)),
            _ => Err(format!(
                "{at}: a whole number 0 or above expected, got {}",
                describe(v)
            )),
        },
        Kind::Bool => match v {
            Value::Boolean(b) => Ok(Json::Bool(*b)),
            other => Err(format!("{at}: boolean expected, got {}", type_name(other))),
        },
        Kind::Text => string(v, at).map(Json::String),
        Kind::Regex => {
            let p = string(v, at)?;
            regex::Regex::new(&p).map_err(|e| format!("{at}: not a valid pattern: {e}"))?;
            Ok(Json::String(p))
        }
    }
}

/// The items of a list table (keys 1..n, nothing else); an empty table is an empty list.
fn sequence(v: &Value, at: &str) -> Result<Vec<Value>, String> {
    let Value::Table(t) = v else {
        return Err(format!("{at}: a list expected, got {}", type_name(v)));
    };
    let n = t.raw_len();
    let mut count = 0usize;
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        count += 1;
        let in_range = match k {
            Value::Integer(i) => i >= 1 && (i as usize) <= n,
            _ => false,
        };
        if !in_range {
            return Err(format!(
                "{at}: a list expected, got a table with a {} key",
                describe(&k)
            ));
        }
    }
    if count != n {
        return Err(format!("{at}: a list expected (keys 1..n without holes)"));
    }
    (1..=n)
        .map(|i| t.raw_get::<Value>(i).map_err(|e| e.to_string()))
        .collect()
}

/// Any JSON value (`enum` members, `default`, `example`...).
fn any(lua: &Lua, v: &Value, at: &str) -> Result<Json, String> {
    lua.from_value::<Json>(v.clone())
        .map_err(|e| format!("{at}: not a JSON value: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(src: &str) -> Result<RouteDoc, String> {
        let lua = Lua::new();
        lua.globals().set("null", lua.null()).unwrap();
        let t: Table = lua.load(src).eval().unwrap();
        parse(&lua, &t, &PathPattern::parse("/api/x/{id}").unwrap())
    }

    #[test]
    fn a_full_description_reads_into_json_schema() {
        let d = doc(r#"return {
              summary = "One x",
              params = { id = { type = "string", description = "Its id" } },
              query = { n = { type = "integer", minimum = 1, required = true },
                        q = { type = { "string", "null" } } },
              body = { type = "object", required = { "a" },
                       properties = { a = { type = "array", items = { type = "number" } },
                                      b = { enum = { "x", "y" }, default = "x" } },
                       additionalProperties = false },
              responses = { [200] = { type = "object", description = "The x", properties = {} },
                            ["404"] = "No such x" },
            }"#)
        .unwrap();
        assert_eq!(d.summary.as_deref(), Some("One x"));
        assert_eq!(
            d.params["id"],
            serde_json::json!({"description": "Its id", "type": "string"})
        );
        assert!(d.query["n"].required);
        assert_eq!(
            d.query["n"].schema,
            serde_json::json!({"minimum": 1, "type": "integer"})
        );
        assert!(!d.query["q"].required);
        let body = d.body.unwrap();
        assert_eq!(body["required"], serde_json::json!(["a"]));
        assert_eq!(
            body["properties"]["b"]["enum"],
            serde_json::json!(["x", "y"])
        );
        assert_eq!(body["additionalProperties"], serde_json::json!(false));
        assert_eq!(d.responses[&200].description.as_deref(), Some("The x"));
        assert_eq!(
            d.responses[&200].schema.as_ref().unwrap()["properties"],
            serde_json::json!({})
        );
        assert_eq!(d.responses[&404].description.as_deref(), Some("No such x"));
        assert!(d.responses[&404].schema.is_none());
    }

    #[test]
    fn malformed_descriptions_say_where() {
        for (src, want) in [
            ("return { sumary = 'x' }", "unknown key 'sumary'"),
            (
                "return { summary = 3 }",
                "summary: string expected, got number",
            ),
            (
                "return { params = { other = {} } }",
                "params.other: 'other' is not a parameter of the path",
            ),
            (
                "return { query = { n = 'int' } }",
                "query.n: a schema table expected, got string",
            ),
            (
                "return { body = { type = 'strng' } }",
                "body.type: 'strng' is not a JSON Schema type",
            ),
            (
                "return { body = { propertis = {} } }",
                "body.propertis: unknown JSON Schema keyword 'propertis'",
            ),
            (
                "return { body = { properties = { a = { type = 'object', required = 'b' } } } }",
                "body.properties.a.required: a list expected, got string",
            ),
            (
                "return { body = { ['$ref'] = '#/x' } }",
                "body.$ref: references are not supported",
            ),
            (
                "return { body = { type = 'string', nullable = true } }",
                "'nullable' is OpenAPI 3.0",
            ),
            (
                "return { body = { pattern = '(' } }",
                "body.pattern: not a valid pattern",
            ),
            (
                "return { body = { minLength = -1 } }",
                "body.minLength: a whole number 0 or above expected, got -1",
            ),
            (
                "return { body = { anyOf = {} } }",
                "body.anyOf: at least one schema expected",
            ),
            (
                "return { responses = { [700] = {} } }",
                "keys are HTTP statuses 100..599, got 700",
            ),
            ("return { responses = { ok = {} } }", "got 'ok'"),
            (
                "return { responses = { [200] = 5 } }",
                "responses[200]: a schema table expected, got number",
            ),
            (
                "return { responses = { [200] = { items = { 1 } } } }",
                "responses[200].items: a schema's keys are keywords, got a number key 1",
            ),
        ] {
            let err = doc(src).unwrap_err();
            assert!(err.contains(want), "{src}: {err}");
        }
    }
}
