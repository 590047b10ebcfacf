//! The layers under the typed settings: the environment file's `KEY=VALUE` lines, a TOML layer
//! merged over the defaults, and `LIGHTHOUSE__SECTION__KEY` variables typed like the default they
//! replace.

use std::collections::BTreeMap;

use toml::{Table, Value};

use super::{ConfigError, ENV_PREFIX};

/// Parse `KEY=VALUE` lines (blank lines and `#` comments ignored, optional quotes).
pub(super) fn parse_env_file(text: &str, path: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            return Err(ConfigError(format!("{path}:{}: expected KEY=VALUE", n + 1)));
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
            .unwrap_or(v);
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

/// Merge `layer` into `base`; every key must already exist in the defaults.
pub(super) fn merge(base: &mut Table, layer: Table, origin: &str) -> Result<(), ConfigError> {
    for (section, value) in layer {
        let Some(Value::Table(target)) = base.get_mut(&section) else {
            return Err(ConfigError(format!("{origin}: unknown section [{section}]")));
        };
        let Value::Table(entries) = value else {
            return Err(ConfigError(format!("{origin}: `{section}` must be a section")));
        };
        for (key, v) in entries {
            if !target.contains_key(&key) {
                return Err(ConfigError(format!("{origin}: unknown key {section}.{key}")));
            }
            target.insert(key, v);
        }
    }
    Ok(())
}

/// Apply `LIGHTHOUSE__SECTION__KEY=value`, typed like the default it replaces.
pub(super) fn set_from_env(table: &mut Table, name: &str, key: &str, raw: &str) -> Result<(), ConfigError> {
    let parts: Vec<String> = key.split("__").map(|p| p.to_ascii_lowercase()).collect();
    let [section, field] = parts.as_slice() else {
        return Err(ConfigError(format!("{name}: expected {ENV_PREFIX}SECTION__KEY")));
    };
    let current = table
        .get(section.as_str())
        .and_then(|s| s.get(field.as_str()))
        .ok_or_else(|| ConfigError(format!("{name}: unknown setting {section}.{field}")))?;
    let typed = match current {
        Value::Integer(_) => raw.trim().parse().map(Value::Integer).map_err(|_| "a whole number"),
        Value::Float(_) => raw.trim().parse().map(Value::Float).map_err(|_| "a number"),
        Value::Boolean(_) => raw.trim().parse().map(Value::Boolean).map_err(|_| "true or false"),
        _ => Ok(Value::String(raw.to_string())),
    }
    .map_err(|want| ConfigError(format!("{name} ({section}.{field}): expected {want}, got {raw:?}")))?;
    set_value(table, &[section, field], typed);
    Ok(())
}

pub(super) fn set_value(table: &mut Table, path: &[&str; 2], value: Value) {
    if let Some(Value::Table(section)) = table.get_mut(path[0]) {
        section.insert(path[1].to_string(), value);
    }
}
