//! The raw shapes of the topology files, as written, with the lax scalars the reference
//! accepts (numbers as text, strings as numbers, `{id}` maps or strings for references).

use super::*;

/// A field that tells "absent" from an explicit `null`.
#[derive(Debug, Default)]
pub(super) enum Maybe<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Maybe::Value(v),
            None => Maybe::Null,
        })
    }
}

impl<T> Maybe<T> {
    pub(super) fn is_absent(&self) -> bool {
        matches!(self, Maybe::Absent)
    }
}

/// A string-valued scalar; numbers and booleans are taken as their text.
#[derive(Debug)]
pub(super) struct Text(pub(super) String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        // serde_norway hands any scalar's source text to `deserialize_string`.
        d.deserialize_string(V)
    }
}

/// An integer, by the lax rule every file of a config folder follows ([`crate::coerce`]):
/// also a numeric string (`"3"`, `" 1_000 "`, `"3.0"`), an integral float (`3.0`) or a
/// boolean.
#[derive(Debug, Clone, Copy)]
pub(super) struct LaxInt(pub(super) i64);

impl<'de> Deserialize<'de> for LaxInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lax("an integer", crate::coerce::int))
            .map(LaxInt)
    }
}

/// A boolean, by the lax rule every file of a config folder follows ([`crate::coerce`]):
/// also 0 or 1, and the strings `yes/no`, `on/off`, `true/false`, `y/n`, `t/f`, `1/0` in any
/// case.
#[derive(Debug, Clone, Copy)]
pub(super) struct LaxBool(pub(super) bool);

impl<'de> Deserialize<'de> for LaxBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lax("a boolean", crate::coerce::bool))
            .map(LaxBool)
    }
}

/// Reads one YAML scalar with a lax rule of [`crate::coerce`], inside the visitor so that
/// a refused value is reported at its own line. `.0` is what the field expects.
struct Lax<T>(
    &'static str,
    fn(&serde_json::Value) -> Result<T, crate::coerce::LaxError>,
);

impl<T> Lax<T> {
    fn read<E: de::Error>(&self, v: serde_json::Value) -> Result<T, E> {
        (self.1)(&v).map_err(|e| E::custom(format!("{v}: {e}")))
    }
}

impl<T> Visitor<'_> for Lax<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        self.read(v.into())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.read(v.into())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.read(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // NaN and the infinities have no JSON form: neither is an integer nor a boolean.
        match serde_json::Number::from_f64(v) {
            Some(n) => self.read(serde_json::Value::Number(n)),
            None => Err(E::invalid_value(de::Unexpected::Float(v), &self)),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        self.read(v.into())
    }
}

/// A list entry that is either a plain string or a mapping; anything else is `Other`.
#[derive(Debug)]
pub(super) enum StrOr<T> {
    Str(String),
    Map(T),
    Other,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for StrOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = StrOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrOr<T>, E> {
                Ok(StrOr::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<StrOr<T>, E> {
                Ok(StrOr::Str(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrOr<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(StrOr::Map)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrOr<T>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(StrOr::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
            fn visit_none<E: de::Error>(self) -> Result<StrOr<T>, E> {
                Ok(StrOr::Other)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSitesFile {
    #[serde(default)]
    pub(super) sites: Maybe<Vec<StrOr<RawSiteEntry>>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSiteEntry {
    pub(super) id: Option<Text>,
    #[serde(default)]
    pub(super) name: Maybe<Text>,
    pub(super) description: Option<Text>,
    pub(super) location: Option<RawLocation>,
    pub(super) rooms: Option<Vec<StrOr<RawIdOnly>>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawIdOnly {
    pub(super) id: Option<Text>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawLocation {
    pub(super) lat: Option<f64>,
    pub(super) lon: Option<f64>,
    pub(super) address: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RawRoomFile {
    pub(super) id: Option<Text>,
    #[serde(default)]
    pub(super) name: Maybe<Text>,
    pub(super) description: Option<Text>,
    pub(super) layout: Option<RawRoomLayout>,
    #[serde(default)]
    pub(super) aisles: Maybe<Vec<StrOr<RawAisleEntry>>>,
    #[serde(default)]
    pub(super) standalone_racks: Maybe<Vec<RackRef>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawAisleEntry {
    pub(super) id: Option<Text>,
    #[serde(default)]
    pub(super) name: Maybe<Text>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RawAisleFile {
    #[serde(default)]
    pub(super) racks: Maybe<Vec<RackRef>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawRoomLayout {
    pub(super) shape: Option<Text>,
    pub(super) size: Option<RawSize>,
    pub(super) orientation: Option<RawOrientation>,
    pub(super) grid: Option<RawGrid>,
    #[serde(default)]
    pub(super) door: Maybe<RawDoor>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSize {
    pub(super) width: Option<f64>,
    pub(super) height: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawOrientation {
    pub(super) north: Option<Text>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawGrid {
    pub(super) enabled: Option<LaxBool>,
    pub(super) cell: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawDoor {
    pub(super) side: Option<Text>,
    #[serde(default)]
    pub(super) label: Maybe<Text>,
    pub(super) position: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RawRack {
    pub(super) id: Option<Text>,
    #[serde(default)]
    pub(super) name: Maybe<Text>,
    pub(super) template_id: Option<Text>,
    pub(super) u_height: Option<LaxInt>,
    pub(super) aisle_id: Option<Text>,
    #[serde(default)]
    pub(super) devices: Maybe<Vec<RawDevice>>,
}

impl RawRack {
    /// True when the map has rack content beyond its `id` (an inline rack definition).
    pub(super) fn has_content(&self) -> bool {
        !self.name.is_absent()
            || self.template_id.is_some()
            || self.u_height.is_some()
            || self.aisle_id.is_some()
            || !self.devices.is_absent()
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RawDevice {
    pub(super) id: Option<Text>,
    #[serde(default)]
    pub(super) name: Maybe<Text>,
    #[serde(default)]
    pub(super) template_id: Maybe<Text>,
    #[serde(default)]
    pub(super) u_position: Maybe<LaxInt>,
    pub(super) instance: Option<InstanceSpec>,
    pub(super) nodes: Option<InstanceSpec>,
    pub(super) labels: Option<IndexMap<String, Text>>,
}

/// A rack reference in `aisle.yaml racks` / `room.yaml standalone_racks`.
#[derive(Debug)]
pub(super) enum RackRef {
    /// `r01` or `{id: r01}`: read `<r01>.yaml`.
    File(String),
    /// `{id: r01, name: ..., devices: ...}`: used as is.
    Inline(Box<RawRack>),
    /// No id, an empty string, a number, ...: skipped silently.
    Skip,
}

impl<'de> Deserialize<'de> for RackRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match StrOr::<RawRack>::deserialize(d)? {
            StrOr::Str(s) if !s.is_empty() => RackRef::File(s),
            StrOr::Map(raw) => match &raw.id {
                Some(Text(id)) if !id.is_empty() => {
                    if raw.has_content() {
                        RackRef::Inline(Box::new(raw))
                    } else {
                        RackRef::File(id.clone())
                    }
                }
                _ => RackRef::Skip,
            },
            _ => RackRef::Skip,
        })
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RawTopologyFile {
    #[serde(default)]
    pub(super) sites: Maybe<Vec<RawSiteFull>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawSiteFull {
    pub(super) id: Option<Text>,
    #[serde(default)]
    pub(super) name: Maybe<Text>,
    pub(super) description: Option<Text>,
    pub(super) location: Option<RawLocation>,
    #[serde(default)]
    pub(super) rooms: Maybe<Vec<RawRoomFull>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawRoomFull {
    pub(super) id: Option<Text>,
    #[serde(default)]
    pub(super) name: Maybe<Text>,
    pub(super) description: Option<Text>,
    pub(super) layout: Option<RawRoomLayout>,
    #[serde(default)]
    pub(super) aisles: Maybe<Vec<RawAisleFull>>,
    #[serde(default)]
    pub(super) standalone_racks: Maybe<Vec<RawRack>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RawAisleFull {
    pub(super) id: Option<Text>,
    #[serde(default)]
    pub(super) name: Maybe<Text>,
    #[serde(default)]
    pub(super) racks: Maybe<Vec<RawRack>>,
}
