//! Instant-vector answers read without building a JSON tree: each series keeps only the
//! labels the caller names and its sample, read straight from the body's bytes. The
//! health engine reads tens of thousands of series per recompute this way; a
//! `serde_json::Value` per answer allocated every label name and value of every series.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One series: the requested labels (in the order asked, `None` when the series lacks
/// one) and the sample value as Prometheus wrote it (`"1"`, `"NaN"`, `"+Inf"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<Option<String>>,
    pub value: Option<String>,
}

/// The result of an instant query, as far as a vector reader cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Vector {
    /// `resultType: vector`.
    Series(Vec<Sample>),
    /// Another result type (`scalar`, `string`, `matrix`), named.
    Other(String),
}

/// Reads a success body (`{"status": "success", "data": {...}}`). None when the body is
/// not a success answer this reader understands (the caller then reports the error from
/// the full parse).
pub fn parse(body: &[u8], labels: &[&str]) -> Option<Vector> {
    let mut de = serde_json::Deserializer::from_slice(body);
    Envelope { labels }.deserialize(&mut de).ok().flatten()
}

struct Envelope<'l> {
    labels: &'l [&'l str],
}

impl<'de> DeserializeSeed<'de> for Envelope<'_> {
    type Value = Option<Vector>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Envelope<'_> {
    type Value = Option<Vector>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus answer")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut success = false;
        let mut data = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "status" => success = map.next_value::<Cow<'de, str>>()? == "success",
                "data" => {
                    data = map.next_value_seed(Data {
                        labels: self.labels,
                    })?
                }
                // Partial answers and warnings go through the full parse, which keeps them.
                "isPartial" | "warnings" => return Ok(None),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(if success { data } else { None })
    }
}

struct Data<'l> {
    labels: &'l [&'l str],
}

impl<'de> DeserializeSeed<'de> for Data<'_> {
    type Value = Option<Vector>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Data<'_> {
    type Value = Option<Vector>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a data object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // `resultType` comes first in what Prometheus and VictoriaMetrics send; if it
        // does not, the series are read anyway and the type checked after.
        let mut kind: Option<String> = None;
        let mut series: Option<Vec<Sample>> = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "resultType" => kind = Some(map.next_value::<Cow<'de, str>>()?.into_owned()),
                "result" if kind.as_deref().is_none_or(|k| k == "vector") => {
                    series = Some(map.next_value_seed(SeriesList {
                        labels: self.labels,
                    })?)
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match (kind, series) {
            (Some(k), Some(s)) if k == "vector" => Some(Vector::Series(s)),
            (Some(k), _) if k != "vector" => Some(Vector::Other(k)),
            _ => None,
        })
    }
}

struct SeriesList<'l> {
    labels: &'l [&'l str],
}

impl<'de> DeserializeSeed<'de> for SeriesList<'_> {
    type Value = Vec<Sample>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SeriesList<'_> {
    type Value = Vec<Sample>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of series")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(s) = seq.next_element_seed(OneSeries {
            labels: self.labels,
        })? {
            out.push(s);
        }
        Ok(out)
    }
}

struct OneSeries<'l> {
    labels: &'l [&'l str],
}

impl<'de> DeserializeSeed<'de> for OneSeries<'_> {
    type Value = Sample;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneSeries<'_> {
    type Value = Sample;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series {metric, value}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut sample = Sample {
            labels: vec![None; self.labels.len()],
            value: None,
        };
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "metric" => map.next_value_seed(Labels {
                    wanted: self.labels,
                    out: &mut sample.labels,
                })?,
                "value" => {
                    let (_, v): (IgnoredAny, Cow<'de, str>) = map.next_value()?;
                    sample.value = Some(v.into_owned());
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(sample)
    }
}

struct Labels<'l, 'o> {
    wanted: &'l [&'l str],
    out: &'o mut Vec<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Labels<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Labels<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a label map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match self.wanted.iter().position(|w| *w == key.as_ref()) {
                Some(i) => self.out[i] = Some(map.next_value::<Cow<'de, str>>()?.into_owned()),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The same from a parsed `data` object (partial answers, answers with warnings).
pub fn from_value(data: &serde_json::Value, labels: &[&str]) -> Vector {
    use serde_json::Value;
    match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => Vector::Series(
            data.get("result")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .map(|s| Sample {
                    labels: labels
                        .iter()
                        .map(|l| {
                            s.get("metric")
                                .and_then(|m| m.get(*l))
                                .and_then(Value::as_str)
                                .map(str::to_owned)
                        })
                        .collect(),
                    value: s
                        .get("value")
                        .and_then(|v| v.get(1))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
                .collect(),
        ),
        Some(other) => Vector::Other(other.to_string()),
        None => Vector::Other("nothing".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_labels_asked_for() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","instance":"cn01","job":"node","slot":"3"},"value":[1.5,"1"]},
            {"metric":{"instance":"cn\"02"},"value":[1.5,"NaN"]}]}}"#;
        let v = parse(body, &["instance", "slot"]).unwrap();
        assert_eq!(
            v,
            Vector::Series(vec![
                Sample {
                    labels: vec![Some("cn01".into()), Some("3".into())],
                    value: Some("1".into())
                },
                Sample {
                    labels: vec![Some("cn\"02".into()), None],
                    value: Some("NaN".into())
                },
            ])
        );
    }

    #[test]
    fn other_result_types_and_non_success_bodies() {
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"1"]}}"#;
        assert_eq!(parse(scalar, &[]), Some(Vector::Other("scalar".into())));
        assert_eq!(parse(br#"{"status":"error","error":"x"}"#, &[]), None);
        assert_eq!(parse(b"<html>", &[]), None);
        let partial =
            br#"{"status":"success","isPartial":true,"data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(
            parse(partial, &[]),
            None,
            "partial answers take the full parse"
        );
    }
}
