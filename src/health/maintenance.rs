//! Maintenances (health.md §4): planned work on a site, room, rack or device, stored in
//! `maintenances.yaml` next to app.yaml, and how they cover the health answers.
//!
//! Unlike the reference: times written without a timezone are UTC (the reference saved
//! them, then failed on every read); writes are atomic and serialised per file like every
//! config file (`fsutil`); an entry of the file that cannot be read is kept as written,
//! never dropped by the next write; the file is read again when it changed on disk (another
//! replica, a hand edit). Which maintenance covers what is decision D7: a device is matched
//! by its id as well as by its instances, and the most specific maintenance wins (node,
//! then device, rack, room, site), not the first of the file.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

/// What a maintenance names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetType {
    Site,
    Room,
    Rack,
    Device,
}

impl TargetType {
    fn parse(s: &str) -> Option<TargetType> {
        Some(match s {
            "site" => TargetType::Site,
            "room" => TargetType::Room,
            "rack" => TargetType::Rack,
            "device" => TargetType::Device,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Site => "site",
            TargetType::Room => "room",
            TargetType::Rack => "rack",
            TargetType::Device => "device",
        }
    }
}

/// What a maintenance does to the alerts it covers: `hide` drops them, `badge` marks them.
/// Either way, what it covers no longer turns its rack, room or the dashboard red.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Hide,
    Badge,
}

impl Effect {
    fn parse(s: &str) -> Option<Effect> {
        match s {
            "hide" => Some(Effect::Hide),
            "badge" => Some(Effect::Badge),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Hide => "hide",
            Effect::Badge => "badge",
        }
    }
}

/// `ACTIVE`, `SCHEDULED` or `EXPIRED`, computed when read, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Scheduled,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "ACTIVE",
            Status::Scheduled => "SCHEDULED",
            Status::Expired => "EXPIRED",
        }
    }
}

type Time = DateTime<FixedOffset>;

/// One maintenance.
#[derive(Debug, Clone, PartialEq)]
pub struct Maintenance {
    pub id: String,
    pub target_type: TargetType,
    pub target_id: String,
    pub reason: String,
    pub effect: Effect,
    pub created_at: Time,
    pub starts_at: Option<Time>,
    pub expires_at: Option<Time>,
    pub ended_at: Option<Time>,
}

impl Maintenance {
    /// Its status at `now`: ended or past its expiry is EXPIRED, before its start
    /// SCHEDULED, else ACTIVE.
    pub fn status(&self, now: &DateTime<Utc>) -> Status {
        if self.ended_at.is_some() || self.expires_at.is_some_and(|e| e <= *now) {
            Status::Expired
        } else if self.starts_at.is_some_and(|s| *now < s) {
            Status::Scheduled
        } else {
            Status::Active
        }
    }

    /// The entry as stored (model field order, times as ISO 8601 strings).
    fn stored(&self) -> Value {
        json!({
            "id": self.id,
            "target_type": self.target_type.as_str(),
            "target_id": self.target_id,
            "reason": self.reason,
            "effect": self.effect.as_str(),
            "created_at": fmt_time(&self.created_at),
            "starts_at": self.starts_at.as_ref().map(fmt_time),
            "expires_at": self.expires_at.as_ref().map(fmt_time),
            "ended_at": self.ended_at.as_ref().map(fmt_time),
        })
    }

    /// The entry as the API shows it: stored fields plus `status`.
    pub fn to_json(&self, now: &DateTime<Utc>) -> Value {
        let mut v = self.stored();
        v["status"] = json!(self.status(now).as_str());
        v
    }

    /// The next time its status changes (its start or its expiry), if any.
    pub fn next_change(&self, now: &DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.ended_at.is_some() {
            return None;
        }
        [self.starts_at, self.expires_at]
            .into_iter()
            .flatten()
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| t > now)
            .min()
    }

    fn from_stored(v: &Value) -> Option<Maintenance> {
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let t = |k: &str| match v.get(k) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(x)) => parse_time(x).ok().map(Some),
            Some(_) => None,
        };
        Some(Maintenance {
            id: s("id")?.to_string(),
            target_type: TargetType::parse(s("target_type")?)?,
            target_id: s("target_id")?.trim().to_string(),
            reason: s("reason")?.trim().to_string(),
            effect: match v.get("effect") {
                None | Some(Value::Null) => Effect::Badge,
                Some(e) => Effect::parse(e.as_str()?)?,
            },
            created_at: t("created_at")?.unwrap_or_else(|| Utc::now().fixed_offset()),
            starts_at: t("starts_at")?,
            expires_at: t("expires_at")?,
            ended_at: t("ended_at")?,
        })
    }
}

/// An ISO 8601 time: with an offset (`Z`, `+02:00`) it is kept as written; without one it
/// is UTC. Seconds and fractions are optional (`2026-01-06T18:00` is what a browser's
/// `datetime-local` input sends); a date alone is midnight UTC.
pub fn parse_time(s: &str) -> Result<Time, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Ok(t);
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc().fixed_offset());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc().fixed_offset());
        }
    }
    Err(format!("'{s}' is not an ISO 8601 date and time"))
}

/// ISO 8601 with microseconds when there are any, `Z` for UTC.
pub fn fmt_time(t: &Time) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Why a maintenance request was not applied.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    /// 404.
    #[error("Maintenance not found")]
    NotFound,
    /// 400: a rule of the request (blank reason, already ended...).
    #[error("{0}")]
    BadRequest(String),
    /// 422: a field of the body has the wrong type or value.
    #[error("{}", .0.msg)]
    Invalid(Box<InvalidField>),
    /// The file could not be read or written (500; the message is logged).
    #[error("{0}")]
    Io(String),
}

/// Which field of a request body is wrong, and how (pydantic's `type`, `msg`, `input`).
#[derive(Debug)]
pub struct InvalidField {
    pub loc: Vec<String>,
    pub kind: &'static str,
    pub msg: String,
    pub input: Value,
}

fn invalid(
    field: &str,
    kind: &'static str,
    msg: impl Into<String>,
    input: &Value,
) -> MaintenanceError {
    MaintenanceError::Invalid(Box::new(InvalidField {
        loc: vec!["body".into(), field.into()],
        kind,
        msg: msg.into(),
        input: input.clone(),
    }))
}

/// One entry of the file: read, or kept as written when it cannot be read.
#[derive(Debug, Clone)]
enum Entry {
    Good(Maintenance),
    Unreadable(Value),
}

/// The maintenances file and a cached copy of it, read again whenever the file changed.
#[derive(Debug)]
pub struct MaintenanceStore {
    path: PathBuf,
    cache: parking_lot::Mutex<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    /// (modified time, length) of the file when read; None before the first read.
    stamp: Option<(Option<SystemTime>, u64)>,
    entries: Vec<Entry>,
    /// Changes on every read that found a change, and every write.
    revision: u64,
}

/// The maintenances of one moment, for the health answers.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub active: Vec<Maintenance>,
    pub revision: u64,
    /// When the first status changes (a start or an expiry), if any.
    pub next_change: Option<DateTime<Utc>>,
}

impl MaintenanceStore {
    /// The store of `maintenances.yaml` in the folder of `app_yaml`.
    pub fn beside(app_yaml: &Path) -> MaintenanceStore {
        let dir = app_yaml.parent().unwrap_or(Path::new(""));
        MaintenanceStore {
            path: dir.join("maintenances.yaml"),
            cache: Default::default(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every maintenance, in file order, as the API lists them.
    pub fn list(&self) -> Vec<Value> {
        let now = Utc::now();
        self.refresh();
        self.cache
            .lock()
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Good(m) => Some(m.to_json(&now)),
                Entry::Unreadable(_) => None,
            })
            .collect()
    }

    /// The active maintenances now, and when that set changes next.
    pub fn current(&self) -> Current {
        let now = Utc::now();
        self.refresh();
        let c = self.cache.lock();
        let mut out = Current {
            revision: c.revision,
            ..Current::default()
        };
        for e in &c.entries {
            if let Entry::Good(m) = e {
                if m.status(&now) == Status::Active {
                    out.active.push(m.clone());
                }
                if let Some(t) = m.next_change(&now) {
                    out.next_change = Some(out.next_change.map_or(t, |n| n.min(t)));
                }
            }
        }
        out
    }

    /// Reads the file again if it changed since the last read.
    fn refresh(&self) {
        let meta = std::fs::metadata(&self.path).ok();
        let stamp = (
            meta.as_ref().and_then(|m| m.modified().ok()),
            meta.as_ref().map_or(0, |m| m.len()),
        );
        let mut c = self.cache.lock();
        if c.stamp == Some(stamp) {
            return;
        }
        c.entries = read_entries(&self.path);
        c.stamp = Some(stamp);
        c.revision += 1;
    }

    /// Creates a maintenance from a POST body.
    pub async fn create(&self, body: &Value) -> Result<Value, MaintenanceError> {
        let obj = body.as_object().ok_or_else(|| {
            MaintenanceError::Invalid(Box::new(InvalidField {
                loc: vec!["body".into()],
                kind: "model_attributes_type",
                msg: "Input should be a valid dictionary or object to extract fields from".into(),
                input: body.clone(),
            }))
        })?;
        let target_type = required_str(obj, "target_type", body)?;
        let target_type = TargetType::parse(target_type).ok_or_else(|| {
            invalid(
                "target_type",
                "enum",
                "Input should be 'site', 'room', 'rack' or 'device'",
                &obj["target_type"],
            )
        })?;
        let target_id = required_str(obj, "target_id", body)?.trim().to_string();
        let reason = required_str(obj, "reason", body)?.trim().to_string();
        let effect = match obj.get("effect") {
            None | Some(Value::Null) => Effect::Badge,
            Some(v) => effect_of(v)?,
        };
        let starts_at = time_field(obj, "starts_at")?.flatten();
        let expires_at = time_field(obj, "expires_at")?.flatten();
        if target_id.is_empty() {
            return Err(MaintenanceError::BadRequest("target_id is required".into()));
        }
        if reason.is_empty() {
            return Err(MaintenanceError::BadRequest("reason is required".into()));
        }
        let m = Maintenance {
            id: new_id(),
            target_type,
            target_id,
            reason,
            effect,
            created_at: Utc::now().fixed_offset(),
            starts_at,
            expires_at,
            ended_at: None,
        };
        let shown = m.to_json(&Utc::now());
        self.modify(|entries| {
            entries.push(Entry::Good(m));
            Ok(())
        })
        .await?;
        Ok(shown)
    }

    /// Applies a PUT body (`reason`, `effect`, `starts_at`, `expires_at`; others ignored).
    pub async fn update(&self, id: &str, body: &Value) -> Result<Value, MaintenanceError> {
        let obj = body.as_object().cloned().unwrap_or_default();
        let reason = match obj.get("reason") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Err(MaintenanceError::BadRequest(
                    "reason cannot be empty".into(),
                ))
            }
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(other) => {
                return Err(invalid(
                    "reason",
                    "string_type",
                    "Input should be a valid string",
                    other,
                ))
            }
        };
        let effect = match obj.get("effect") {
            None | Some(Value::Null) => None,
            Some(v) => Some(effect_of(v)?),
        };
        let starts_at = time_field(&obj, "starts_at")?;
        let expires_at = time_field(&obj, "expires_at")?;
        self.modify_one(id, |m| {
            if let Some(r) = reason {
                m.reason = r;
            }
            if let Some(e) = effect {
                m.effect = e;
            }
            if let Some(t) = starts_at {
                m.starts_at = t;
            }
            if let Some(t) = expires_at {
                m.expires_at = t;
            }
            Ok(())
        })
        .await
    }

    /// Ends a maintenance now.
    pub async fn stop(&self, id: &str) -> Result<Value, MaintenanceError> {
        self.modify_one(id, |m| {
            if m.ended_at.is_some() {
                return Err(MaintenanceError::BadRequest(
                    "Maintenance already ended".into(),
                ));
            }
            m.ended_at = Some(Utc::now().fixed_offset());
            Ok(())
        })
        .await
    }

    /// Clears the end of a stopped maintenance.
    pub async fn reactivate(&self, id: &str) -> Result<Value, MaintenanceError> {
        self.modify_one(id, |m| {
            if m.ended_at.is_none() {
                return Err(MaintenanceError::BadRequest(
                    "Maintenance is not ended".into(),
                ));
            }
            m.ended_at = None;
            Ok(())
        })
        .await
    }

    pub async fn delete(&self, id: &str) -> Result<(), MaintenanceError> {
        self.modify(|entries| {
            let before = entries.len();
            entries.retain(|e| !matches!(e, Entry::Good(m) if m.id == id));
            if entries.len() == before {
                Err(MaintenanceError::NotFound)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn modify_one(
        &self,
        id: &str,
        f: impl FnOnce(&mut Maintenance) -> Result<(), MaintenanceError>,
    ) -> Result<Value, MaintenanceError> {
        let mut shown = Value::Null;
        self.modify(|entries| {
            let m = entries
                .iter_mut()
                .find_map(|e| match e {
                    Entry::Good(m) if m.id == id => Some(m),
                    _ => None,
                })
                .ok_or(MaintenanceError::NotFound)?;
            f(m)?;
            shown = m.to_json(&Utc::now());
            Ok(())
        })
        .await?;
        Ok(shown)
    }

    /// A read-modify-write of the file under its lock: read what is on disk now, change
    /// it, write it atomically. Nothing is written when `f` refuses.
    async fn modify(
        &self,
        f: impl FnOnce(&mut Vec<Entry>) -> Result<(), MaintenanceError>,
    ) -> Result<(), MaintenanceError> {
        let _file = crate::fsutil::lock_file(&self.path).await;
        let mut entries = read_entries(&self.path);
        f(&mut entries)?;
        let doc = json!({
            "maintenances": entries.iter().map(|e| match e {
                Entry::Good(m) => m.stored(),
                Entry::Unreadable(v) => v.clone(),
            }).collect::<Vec<_>>()
        });
        let text =
            serde_norway::to_string(&doc).map_err(|e| MaintenanceError::Io(e.to_string()))?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || crate::fsutil::write_atomic(&path, text.as_bytes()))
            .await
            .map_err(|e| MaintenanceError::Io(e.to_string()))?
            .map_err(|e| MaintenanceError::Io(format!("{}: {e}", self.path.display())))?;
        let mut c = self.cache.lock();
        c.entries = entries;
        c.stamp = None;
        c.revision += 1;
        Ok(())
    }
}

/// The entries of the file; a missing file is none, an unreadable one is none (logged).
fn read_entries(path: &Path) -> Vec<Entry> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the maintenances file");
            return Vec::new();
        }
    };
    let doc: Value = match serde_norway::from_str(&text) {
        Ok(Value::Null) => return Vec::new(),
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "the maintenances file is not valid YAML; no maintenance is in force");
            return Vec::new();
        }
    };
    let list = match doc.get("maintenances") {
        Some(Value::Array(list)) => list.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => {
            tracing::warn!(path = %path.display(), "`maintenances` must be a list; no maintenance is in force");
            return Vec::new();
        }
    };
    list.into_iter()
        .map(|v| match Maintenance::from_stored(&v) {
            Some(m) => Entry::Good(m),
            None => {
                tracing::warn!(path = %path.display(), entry = %v, "a maintenance cannot be read; it is kept as written and ignored");
                Entry::Unreadable(v)
            }
        })
        .collect()
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    body: &Value,
) -> Result<&'a str, MaintenanceError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        None => Err(invalid(key, "missing", "Field required", body)),
        Some(other) => Err(invalid(
            key,
            "string_type",
            "Input should be a valid string",
            other,
        )),
    }
}

fn effect_of(v: &Value) -> Result<Effect, MaintenanceError> {
    v.as_str()
        .and_then(Effect::parse)
        .ok_or_else(|| invalid("effect", "enum", "Input should be 'hide' or 'badge'", v))
}

/// A time field: absent -> None, null -> Some(None), a time -> Some(Some(t)).
fn time_field(
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<Option<Time>>, MaintenanceError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => parse_time(s).map(|t| Some(Some(t))).map_err(|e| {
            invalid(
                key,
                "datetime_from_date_parsing",
                format!("Input should be a valid datetime, {e}"),
                &obj[key],
            )
        }),
        Some(other) => Err(invalid(
            key,
            "datetime_type",
            "Input should be a valid datetime",
            other,
        )),
    }
}

/// 12 hex characters, as the reference's ids.
fn new_id() -> String {
    let n: u64 = rand::random();
    format!("{:012x}", n & 0xffff_ffff_ffff)
}

/// Where one thing sits: the ids a maintenance may name to cover it, most specific first.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// A node's instance name (device targets), if a node.
    pub node: Option<&'a str>,
    /// Its device's id (device targets), if a node.
    pub device: Option<&'a str>,
    pub rack: &'a str,
    pub room: &'a str,
    pub site: &'a str,
}

impl Current {
    /// The maintenance covering `place`: the most specific level that has one wins (node,
    /// device, rack, room, site); within a level, the first in the file.
    pub fn covering(&self, place: Place<'_>) -> Option<&Maintenance> {
        self.covering_at(place).map(|(m, _)| m)
    }

    /// [`Self::covering`], with the level of the target it names (`Device` for a node or
    /// its device).
    pub fn covering_at(&self, place: Place<'_>) -> Option<(&Maintenance, TargetType)> {
        if self.active.is_empty() {
            return None;
        }
        let levels: [(TargetType, Option<&str>); 5] = [
            (TargetType::Device, place.node),
            (TargetType::Device, place.device),
            (TargetType::Rack, Some(place.rack)),
            (TargetType::Room, Some(place.room)),
            (TargetType::Site, Some(place.site)),
        ];
        levels.iter().find_map(|(kind, id)| {
            let id = (*id)?;
            self.active
                .iter()
                .find(|m| m.target_type == *kind && m.target_id == id)
                .map(|m| (m, *kind))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_and_without_a_timezone() {
        assert_eq!(
            fmt_time(&parse_time("2026-01-06T18:00").unwrap()),
            "2026-01-06T18:00:00Z"
        );
        assert_eq!(
            fmt_time(&parse_time("2026-01-06T18:00:00+02:00").unwrap()),
            "2026-01-06T18:00:00+02:00"
        );
        assert_eq!(
            fmt_time(&parse_time("2026-01-05T09:12:44.512301Z").unwrap()),
            "2026-01-05T09:12:44.512301Z"
        );
        assert_eq!(
            fmt_time(&parse_time("2026-01-06").unwrap()),
            "2026-01-06T00:00:00Z"
        );
        assert!(parse_time("tomorrow").is_err());
    }

    fn m(id: &str, kind: TargetType, target: &str) -> Maintenance {
        Maintenance {
            id: id.into(),
            target_type: kind,
            target_id: target.into(),
            reason: "r".into(),
            effect: Effect::Badge,
            created_at: Utc::now().fixed_offset(),
            starts_at: None,
            expires_at: None,
            ended_at: None,
        }
    }

    #[test]
    fn status_at_a_time() {
        let now = Utc::now();
        let mut x = m("a", TargetType::Rack, "r1");
        assert_eq!(x.status(&now), Status::Active);
        x.starts_at = Some((now + chrono::Duration::hours(1)).fixed_offset());
        assert_eq!(x.status(&now), Status::Scheduled);
        assert_eq!(
            x.next_change(&now),
            x.starts_at.map(|t| t.with_timezone(&Utc))
        );
        x.starts_at = None;
        x.expires_at = Some((now - chrono::Duration::seconds(1)).fixed_offset());
        assert_eq!(x.status(&now), Status::Expired);
        x.expires_at = None;
        x.ended_at = Some(now.fixed_offset());
        assert_eq!(x.status(&now), Status::Expired);
    }

    #[test]
    fn the_most_specific_maintenance_wins_and_devices_match_by_id_or_instance() {
        let current = Current {
            active: vec![
                m("site", TargetType::Site, "s"),
                m("dev-id", TargetType::Device, "r1-c01"),
                m("node", TargetType::Device, "cn01"),
            ],
            ..Current::default()
        };
        let place = |node, device| Place {
            node,
            device,
            rack: "r1",
            room: "hall",
            site: "s",
        };
        assert_eq!(
            current
                .covering(place(Some("cn01"), Some("r1-c01")))
                .unwrap()
                .id,
            "node"
        );
        assert_eq!(
            current
                .covering(place(Some("cn02"), Some("r1-c01")))
                .unwrap()
                .id,
            "dev-id"
        );
        assert_eq!(
            current
                .covering(place(Some("cn03"), Some("r1-c02")))
                .unwrap()
                .id,
            "site"
        );
        assert_eq!(current.covering(place(None, None)).unwrap().id, "site");
    }
}
