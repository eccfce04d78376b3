//! The template catalog: device, rack and rack-component templates.
//!
//! Every `*.yaml` file under the templates directory is read, recursively and in sorted path
//! order (the reference reads them in unsorted filesystem order). The top-level keys decide
//! what a file holds, not its folder: `templates:` (device templates), `rack_templates:`,
//! `rack_component_templates:`; one file may hold several. YAML anchors and aliases are
//! resolved, and `<<` merge keys are applied.
//!
//! A bad catalog never fails: an unreadable file or a YAML error skips that file, an invalid
//! template skips that template (the reference drops the rest of its file), and a duplicate id
//! keeps the first one; each of these is a warning. Template references are not checked here.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_norway::Value;

use super::model::{DeviceTemplate, RackComponentTemplate, RackTemplate};

/// How deep symlinked or nested template directories are followed.
const MAX_DEPTH: usize = 16;

/// Device, rack and rack-component templates, in load order, ids unique.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    device_templates: Vec<DeviceTemplate>,
    rack_templates: Vec<RackTemplate>,
    rack_component_templates: Vec<RackComponentTemplate>,
    #[serde(skip)]
    by_id: [HashMap<String, usize>; 3],
}

const DEVICE: usize = 0;
const RACK: usize = 1;
const COMPONENT: usize = 2;

impl Catalog {
    /// The device template with this id.
    pub fn device_template(&self, id: &str) -> Option<&DeviceTemplate> {
        self.by_id[DEVICE]
            .get(id)
            .map(|&i| &self.device_templates[i])
    }

    /// The rack template with this id.
    pub fn rack_template(&self, id: &str) -> Option<&RackTemplate> {
        self.by_id[RACK].get(id).map(|&i| &self.rack_templates[i])
    }

    /// The rack component template with this id.
    pub fn rack_component_template(&self, id: &str) -> Option<&RackComponentTemplate> {
        self.by_id[COMPONENT]
            .get(id)
            .map(|&i| &self.rack_component_templates[i])
    }

    /// Every device template, in load order.
    pub fn device_templates(&self) -> &[DeviceTemplate] {
        &self.device_templates
    }

    /// Every rack template, in load order.
    pub fn rack_templates(&self) -> &[RackTemplate] {
        &self.rack_templates
    }

    /// Every rack component template, in load order.
    pub fn rack_component_templates(&self) -> &[RackComponentTemplate] {
        &self.rack_component_templates
    }

    /// Adds a device template; `false` (and nothing added) if the id is taken.
    pub fn add_device_template(&mut self, template: DeviceTemplate) -> bool {
        add(
            &mut self.device_templates,
            &mut self.by_id[DEVICE],
            template,
            |t| &t.id,
        )
    }

    /// Adds a rack template; `false` (and nothing added) if the id is taken.
    pub fn add_rack_template(&mut self, template: RackTemplate) -> bool {
        add(
            &mut self.rack_templates,
            &mut self.by_id[RACK],
            template,
            |t| &t.id,
        )
    }

    /// Adds a rack component template; `false` (and nothing added) if the id is taken.
    pub fn add_rack_component_template(&mut self, template: RackComponentTemplate) -> bool {
        add(
            &mut self.rack_component_templates,
            &mut self.by_id[COMPONENT],
            template,
            |t| &t.id,
        )
    }
}

fn add<T>(
    list: &mut Vec<T>,
    ids: &mut HashMap<String, usize>,
    item: T,
    id: fn(&T) -> &String,
) -> bool {
    if ids.contains_key(id(&item)) {
        return false;
    }
    ids.insert(id(&item).clone(), list.len());
    list.push(item);
    true
}

/// Loads every `*.yaml` under `dir`; never fails (problems are returned as warnings, and also
/// logged). A missing or non-directory `dir` gives an empty catalog.
pub fn load_catalog(dir: &Path) -> (Catalog, Vec<String>) {
    let mut catalog = Catalog::default();
    let mut warnings = Vec::new();
    let mut warn = |message: String| {
        tracing::warn!("{message}");
        warnings.push(message);
    };
    if !dir.is_dir() {
        warn(format!("Templates directory not found: {}", dir.display()));
        return (catalog, warnings);
    }
    let mut files = Vec::new();
    collect_yaml_files(dir, 0, &mut files, &mut warn);
    files.sort();
    for file in files {
        load_file(&file, &mut catalog, &mut warn);
    }
    (catalog, warnings)
}

fn collect_yaml_files(
    dir: &Path,
    depth: usize,
    out: &mut Vec<PathBuf>,
    warn: &mut impl FnMut(String),
) {
    if depth > MAX_DEPTH {
        warn(format!(
            "Templates directory too deep, not read: {}",
            dir.display()
        ));
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            warn(format!(
                "Cannot list templates directory {}: {err}",
                dir.display()
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml_files(&path, depth + 1, out, warn);
        } else if path.extension().is_some_and(|ext| ext == "yaml") && path.is_file() {
            out.push(path);
        }
    }
}

fn load_file(file: &Path, catalog: &mut Catalog, warn: &mut impl FnMut(String)) {
    let fail = |why: String| format!("Failed to load template file {}: {why}", file.display());
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) => return warn(fail(err.to_string())),
    };
    let mut root: Value = match serde_norway::from_str(&text) {
        Ok(root) => root,
        Err(err) => return warn(fail(err.to_string())),
    };
    if let Err(err) = root.apply_merge() {
        return warn(fail(err.to_string()));
    }
    let root = match root {
        Value::Null => return,
        Value::Mapping(map) => map,
        _ => return warn(fail("the top level must be a mapping".into())),
    };
    for (key, value) in root {
        let Some(key) = key.as_str() else { continue };
        match key {
            "templates" => each(file, key, value, warn, |t: DeviceTemplate| {
                catalog.add_device_template(t)
            }),
            "rack_templates" => each(file, key, value, warn, |t: RackTemplate| {
                catalog.add_rack_template(t)
            }),
            "rack_component_templates" => {
                each(file, key, value, warn, |t: RackComponentTemplate| {
                    catalog.add_rack_component_template(t)
                })
            }
            _ => {}
        }
    }
}

/// Parses every item of one top-level list, adding the valid ones.
fn each<T: DeserializeOwned>(
    file: &Path,
    key: &str,
    value: Value,
    warn: &mut impl FnMut(String),
    mut add: impl FnMut(T) -> bool,
) {
    let items = match value {
        Value::Null => return,
        Value::Sequence(items) => items,
        _ => {
            return warn(format!(
                "Failed to load template file {}: `{key}` must be a list",
                file.display()
            ))
        }
    };
    for (i, item) in items.into_iter().enumerate() {
        let id = item
            .get("id")
            .and_then(Value::as_str)
            .map(|s| format!(" (id `{s}`)"))
            .unwrap_or_default();
        match serde_norway::from_value::<T>(item) {
            Ok(template) => {
                if !add(template) {
                    warn(format!(
                        "Duplicate template id in {}: {key}[{i}]{id} ignored, the first one wins",
                        file.display()
                    ));
                }
            }
            Err(err) => warn(format!(
                "Invalid template in {}: {key}[{i}]{id}: {err}",
                file.display()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn loads_kinds_by_key_sorted_with_aliases_and_first_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(
            d,
            "b/servers.yaml",
            "templates:\n- id: a\n  name: A\n  u_height: 1\n  checks: &c [x, y]\n- id: b\n  name: B\n  u_height: 2\n  checks: *c\n",
        );
        write(
            d,
            "a/dup.yaml",
            "templates:\n- {id: a, name: First A, u_height: 1}\n",
        );
        write(
            d,
            "racks/mixed.yaml",
            "rack_templates:\n- {id: r, name: R}\nrack_component_templates:\n- {id: p, name: P, u_height: 16, location: side}\n",
        );
        write(
            d,
            "ignored.yml",
            "templates:\n- {id: z, name: Z, u_height: 1}\n",
        );
        write(d, "broken.yaml", "templates: [\n");
        write(
            d,
            "partial.yaml",
            "templates:\n- {id: bad, name: Bad}\n- {id: good, name: Good, u_height: 1}\n",
        );
        write(d, "empty.yaml", "");
        let (catalog, warnings) = load_catalog(d);
        assert_eq!(catalog.device_template("a").unwrap().name, "First A");
        assert_eq!(catalog.device_template("b").unwrap().checks, ["x", "y"]);
        assert!(catalog.device_template("good").is_some());
        assert!(catalog.device_template("bad").is_none());
        assert!(catalog.device_template("z").is_none());
        assert_eq!(catalog.rack_template("r").unwrap().u_height, 42);
        assert_eq!(catalog.rack_component_template("p").unwrap().u_height, 16);
        let ids: Vec<&str> = catalog
            .device_templates()
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b", "good"]);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("broken.yaml")));
        assert!(warnings
            .iter()
            .any(|w| w.contains("Duplicate template id") && w.contains("servers.yaml")));
        assert!(warnings
            .iter()
            .any(|w| w.contains("(id `bad`)") && w.contains("u_height")));
        let json = serde_json::to_value(&catalog).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "device_templates",
                "rack_templates",
                "rack_component_templates"
            ]
        );
    }

    #[test]
    fn missing_dir_is_an_empty_catalog() {
        let (catalog, warnings) = load_catalog(Path::new("/nonexistent/templates"));
        assert!(catalog.device_templates().is_empty());
        assert_eq!(warnings.len(), 1);
    }
}
