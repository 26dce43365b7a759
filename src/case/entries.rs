//! Inside a value: once an element is known to matter, and its value is a list — a
//! path-like env var (split on ':'), `python_flags`, or an env var the case file marks as a
//! list under `[lists]` — its entries are reduced too, order kept (a shadowing path entry
//! is a cause by its position), so that the finding names the entries that matter.

use indexmap::IndexMap;

use super::space::ConfigSpace;
use super::{Config, ElementKey, LaunchOption};
use crate::reduce::Variant;

/// Where the list is in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
enum List {
    Env { key: String, separator: String },
    PythonFlags,
}

/// The entries of one list-valued element of a configuration, as a reduction space: a
/// variant keeps some entries, in their order; everything else stays as it is.
#[derive(Debug, Clone)]
pub struct EntrySpace {
    base: Config,
    list: List,
    /// Each entry, as the strings it is made of (a flag and its argument go together).
    entries: Vec<Vec<String>>,
    element: String,
}

/// Env vars whose values are path lists, by their names.
fn path_like(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    key.ends_with("PATH") || key.ends_with("PATHS") || key.ends_with("DIRS")
}

/// Interpreter flags as units: `-X importtime` and `-W error` are one entry each.
fn flag_units(flags: &[String]) -> Vec<Vec<String>> {
    let mut units: Vec<Vec<String>> = Vec::new();
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        let mut unit = vec![flag.clone()];
        if matches!(flag.as_str(), "-X" | "-W" | "--check-hash-based-pycs") {
            unit.extend(flags.next().cloned());
        }
        units.push(unit);
    }
    units
}

impl EntrySpace {
    /// The entries of `element` in `config`, if its value is a list of two entries or
    /// more. `lists` are the separators the case file gives, by env var name.
    pub fn of(
        config: &Config,
        element: &str,
        lists: &IndexMap<String, String>,
    ) -> Option<EntrySpace> {
        let (list, entries) = match ElementKey::parse(element)? {
            ElementKey::Option(name) if name == "python_flags" => {
                (List::PythonFlags, flag_units(&config.options.python_flags))
            }
            ElementKey::Env(key) => {
                let value = config.env.get(&key)?;
                let separator = match lists.get(&key) {
                    Some(separator) => separator.clone(),
                    None if path_like(&key) && value.contains(':') => ":".to_string(),
                    None => return None,
                };
                let entries = value
                    .split(separator.as_str())
                    .map(|entry| vec![entry.to_string()])
                    .collect();
                (List::Env { key, separator }, entries)
            }
            _ => return None,
        };
        (entries.len() >= 2).then(|| EntrySpace {
            base: config.clone(),
            list,
            entries,
            element: element.to_string(),
        })
    }

    /// The entries a variant keeps, as they read.
    pub fn entries(&self, variant: &Variant) -> Vec<String> {
        variant
            .indices()
            .iter()
            .map(|i| self.entries[*i as usize].join(" "))
            .collect()
    }
}

impl ConfigSpace for EntrySpace {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn config(&self, variant: &Variant) -> Config {
        let mut config = self.base.clone();
        let kept = variant.indices().iter().map(|i| &self.entries[*i as usize]);
        match &self.list {
            List::Env { key, separator } => {
                let value = kept.map(|e| e.join("")).collect::<Vec<_>>().join(separator);
                config.env.insert(key.clone(), value);
            }
            List::PythonFlags => {
                let flags: Vec<String> = kept.flatten().cloned().collect();
                config.options.apply(&LaunchOption::PythonFlags(flags));
            }
        }
        config
    }

    fn name_of(&self, index: u32) -> String {
        format!(
            "{}[{}]",
            self.element,
            self.entries[index as usize].join(" ")
        )
    }

    fn result_key(&self) -> Option<&'static str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::LaunchOptions;

    fn config(env: &[(&str, &str)], flags: &[&str]) -> Config {
        Config {
            template: "dramatiq".into(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            imports: vec![],
            options: LaunchOptions {
                python_flags: flags.iter().map(|f| f.to_string()).collect(),
                ..LaunchOptions::default()
            },
            sources: IndexMap::new(),
        }
    }

    #[test]
    fn path_lists_keep_the_order_of_the_entries_they_keep() {
        let base = config(&[("PYTHONPATH", "/a:/b:/stale:/c"), ("HOME", "/h")], &[]);
        let space = EntrySpace::of(&base, "env:PYTHONPATH", &IndexMap::new()).unwrap();
        assert_eq!(space.len(), 4);
        let kept = Variant::new(vec![3, 0]);
        assert_eq!(space.config(&kept).env["PYTHONPATH"], "/a:/c");
        assert_eq!(space.config(&kept).env["HOME"], "/h");
        assert_eq!(
            space.names(&Variant::new(vec![2])),
            ["env:PYTHONPATH[/stale]"]
        );
        assert!(EntrySpace::of(&base, "env:HOME", &IndexMap::new()).is_none());
    }

    #[test]
    fn marked_lists_and_flags_split_into_entries() {
        let base = config(&[("FEATURES", "a,b,c")], &["-X", "importtime", "-u"]);
        let lists: IndexMap<String, String> = [("FEATURES".to_string(), ",".to_string())].into();
        let features = EntrySpace::of(&base, "env:FEATURES", &lists).unwrap();
        assert_eq!(
            features.config(&Variant::new(vec![0, 2])).env["FEATURES"],
            "a,c"
        );
        let flags = EntrySpace::of(&base, "option:python_flags", &lists).unwrap();
        assert_eq!(flags.len(), 2);
        assert_eq!(
            flags.config(&Variant::new(vec![0])).options.python_flags,
            ["-X", "importtime"]
        );
        assert_eq!(
            flags.entries(&Variant::new(vec![0, 1])),
            ["-X importtime", "-u"]
        );
    }
}
