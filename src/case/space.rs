//! What a bisection reduces over. In minimize mode: the case's elements that are not kept;
//! a variant keeps some of them. In isolate mode (`--good`): the differences between a
//! working configuration and the failing one; a variant applies some of them, each in its
//! failing-side state, to the working configuration.

use indexmap::IndexMap;
use serde::Serialize;

use super::{Case, Config, Element, ElementKey};
use crate::reduce::Variant;
use crate::reduce::search::Order;

/// What trials vary over, seen from the oracle: a variant becomes a configuration, and
/// its parts have names for the log and the report.
pub trait ConfigSpace: Send + Sync {
    fn len(&self) -> usize;
    fn config(&self, variant: &Variant) -> Config;
    /// The name of part `index` of a variant.
    fn name_of(&self, index: u32) -> String;
    fn names(&self, variant: &Variant) -> Vec<String> {
        variant.indices().iter().map(|i| self.name_of(*i)).collect()
    }
    fn index_of(&self, name: &str) -> Option<u32> {
        (0..self.len() as u32).find(|i| self.name_of(*i) == name)
    }
    /// Under which name results are remembered for the next run (`None`: not at all).
    fn result_key(&self) -> Option<&'static str>;
}

/// An oracle whose variants mean configurations of a space it can be switched to: the
/// reductions inside a cause (list entries, statements) each bring their own space.
pub trait SpaceOracle: crate::reduce::Oracle {
    fn set_space(&mut self, space: std::sync::Arc<dyn ConfigSpace>);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Minimize,
    Isolate,
}

/// One reducible element: its name, and its state in the configuration a variant
/// includes it in (`None`: unset, as when an env var exists only on the working side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reducible {
    pub name: String,
    pub included: Option<Element>,
    /// Its state when left out: in minimize mode absent, in isolate mode the working side's.
    pub excluded: Option<Element>,
}

#[derive(Debug, Clone)]
pub struct Space {
    pub mode: Mode,
    pub template: String,
    /// Elements every variant has, in configuration order (minimize: the kept ones;
    /// isolate: the working configuration, with kept differences applied).
    base: Vec<Element>,
    pub reducible: Vec<Reducible>,
    /// Names of the `keep` elements.
    pub kept: Vec<String>,
    /// The order configurations list their elements in (so that imports keep theirs).
    layout: Vec<String>,
}

impl Space {
    /// What `bisect` reduces over: the differences from `good` when there is one (isolate),
    /// else the case's own elements (minimize).
    pub fn of(case: &Case, good: Option<&Case>) -> Space {
        match good {
            Some(good) => Space::isolate(case, good),
            None => Space::minimize(case),
        }
    }

    pub fn minimize(case: &Case) -> Space {
        let mut base = Vec::new();
        let mut reducible = Vec::new();
        for (index, element) in case.elements.iter().enumerate() {
            if case.keep.contains(&index) {
                base.push(element.clone());
            } else {
                reducible.push(Reducible {
                    name: element.name(),
                    included: Some(element.clone()),
                    excluded: None,
                });
            }
        }
        Space {
            mode: Mode::Minimize,
            template: case.template.clone(),
            base,
            reducible,
            kept: case.keep.iter().map(|i| case.elements[*i].name()).collect(),
            layout: case.elements.iter().map(Element::name).collect(),
        }
    }

    /// The differences that turn `good` into `bad`. Elements `bad` keeps are applied
    /// always and are not reduced.
    pub fn isolate(bad: &Case, good: &Case) -> Space {
        let bad_elements: IndexMap<String, &Element> =
            bad.elements.iter().map(|e| (e.name(), e)).collect();
        let good_elements: IndexMap<String, &Element> =
            good.elements.iter().map(|e| (e.name(), e)).collect();
        let kept: Vec<String> = bad.keep.iter().map(|i| bad.elements[*i].name()).collect();
        let layout = merged_layout(&bad_elements, &good_elements);
        let mut base = Vec::new();
        let mut reducible = Vec::new();
        for name in &layout {
            let on_bad = bad_elements.get(name).copied().filter(|e| !is_default(e));
            let on_good = good_elements.get(name).copied().filter(|e| !is_default(e));
            if on_bad == on_good {
                base.extend(on_good.cloned());
            } else if kept.contains(name) {
                base.extend(on_bad.cloned());
            } else {
                reducible.push(Reducible {
                    name: name.clone(),
                    included: on_bad.cloned(),
                    excluded: on_good.cloned(),
                });
            }
        }
        Space {
            mode: Mode::Isolate,
            template: bad.template.clone(),
            base,
            reducible,
            kept,
            layout,
        }
    }

    /// The search order: options, then imports, then env vars grouped by prefix (the text
    /// before the first `_`), so that binary splits fall between groups where they can.
    pub fn order(&self) -> Order {
        let group = |r: &Reducible| -> (u8, String) {
            match ElementKey::parse(&r.name) {
                Some(ElementKey::Option(_)) => (0, String::new()),
                Some(ElementKey::Import(_)) => (1, String::new()),
                Some(ElementKey::Env(key)) => (
                    2,
                    key.split('_').next().unwrap_or(&key).to_ascii_uppercase(),
                ),
                // No element is named so: a case's names are all of the kinds above.
                None => (3, String::new()),
            }
        };
        let mut indices: Vec<u32> = (0..self.reducible.len() as u32).collect();
        // Stable: within a group, the case file's order.
        indices.sort_by_key(|i| group(&self.reducible[*i as usize]));
        let group_ends = (1..indices.len())
            .filter(|p| {
                group(&self.reducible[indices[*p - 1] as usize])
                    != group(&self.reducible[indices[*p] as usize])
            })
            .collect();
        Order {
            elements: indices,
            group_ends,
        }
    }
}

impl ConfigSpace for Space {
    fn len(&self) -> usize {
        self.reducible.len()
    }

    fn config(&self, variant: &Variant) -> Config {
        let mut elements: IndexMap<String, &Element> =
            self.base.iter().map(|e| (e.name(), e)).collect();
        for (index, reducible) in self.reducible.iter().enumerate() {
            let state = if variant.contains(index as u32) {
                &reducible.included
            } else {
                &reducible.excluded
            };
            if let Some(element) = state {
                elements.insert(reducible.name.clone(), element);
            }
        }
        Config::from_elements(
            &self.template,
            self.layout
                .iter()
                .filter_map(|name| elements.get(name).copied()),
        )
    }

    fn name_of(&self, index: u32) -> String {
        self.reducible[index as usize].name.clone()
    }

    fn result_key(&self) -> Option<&'static str> {
        Some(match self.mode {
            Mode::Minimize => "minimize",
            Mode::Isolate => "isolate",
        })
    }
}

/// An option set to the value it has anyway: no difference from leaving it out.
fn is_default(element: &Element) -> bool {
    matches!(element, Element::Option(option) if option.is_default())
}

/// Every element name of both sides, in the failing side's order, with names only on the
/// working side placed after the element that precedes them there.
fn merged_layout(
    bad: &IndexMap<String, &Element>,
    good: &IndexMap<String, &Element>,
) -> Vec<String> {
    let mut layout: Vec<String> = bad.keys().cloned().collect();
    let mut previous: Option<&String> = None;
    for name in good.keys() {
        if !layout.contains(name) {
            let at = previous
                .and_then(|p| layout.iter().position(|n| n == p))
                .map_or(0, |p| p + 1);
            layout.insert(at, name.clone());
        }
        previous = Some(name);
    }
    layout
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::load;

    fn case(text: &str) -> (tempfile::TempDir, Case) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("case.toml"), text).unwrap();
        let case = load(dir.path()).unwrap();
        (dir, case)
    }

    #[test]
    fn minimize_keeps_the_kept_elements_in_every_variant() {
        let (_d, case) = case(
            "imports = [\"a\", \"b\", \"c\"]\n[env]\nPYTHONPATH = \"/p\"\nX = \"1\"\n[options]\nstderr = \"pipe\"\n[reduce]\nkeep = [\"env:PYTHONPATH\"]\n",
        );
        let space = Space::minimize(&case);
        assert_eq!(space.len(), 5);
        let names: Vec<&str> = space.reducible.iter().map(|r| r.name.as_str()).collect();
        let c = names.iter().position(|n| *n == "import:c").unwrap() as u32;
        let a = names.iter().position(|n| *n == "import:a").unwrap() as u32;
        let config = space.config(&Variant::new(vec![c, a]));
        assert_eq!(config.imports, ["a", "c"], "imports keep their order");
        assert_eq!(config.env.keys().collect::<Vec<_>>(), ["PYTHONPATH"]);
        assert_eq!(space.config(&Variant::full(5)), case.full_config());
        let order = space.order();
        let first = &space.reducible[order.elements[0] as usize].name;
        assert_eq!(first, "option:stderr", "options come first");
    }

    #[test]
    fn isolate_reduces_over_the_differences_only() {
        let (_g, good) = case(
            "imports = [\"app.settings\", \"app.tasks\"]\n[env]\nPYTHONPATH = \"/good\"\nHOME = \"/home/a\"\nSAME = \"s\"\n[options]\nstderr = \"inherit\"\n",
        );
        let (_b, bad) = case(
            "imports = [\"app.settings\", \"app.tasks\", \"app.extra\"]\n[env]\nPYTHONPATH = \"/bad\"\nSAME = \"s\"\nDRAMATIQ_TESTING = \"1\"\n[options]\nstderr = \"pipe\"\n[reduce]\nkeep = [\"env:PYTHONPATH\"]\n",
        );
        let space = Space::isolate(&bad, &good);
        let mut names: Vec<String> = space.reducible.iter().map(|r| r.name.clone()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "env:DRAMATIQ_TESTING",
                "env:HOME",
                "import:app.extra",
                "option:stderr"
            ]
        );
        // No difference applied: the working configuration, with the kept PYTHONPATH.
        let none = space.config(&Variant::empty());
        assert_eq!(none.env["PYTHONPATH"], "/bad");
        assert_eq!(none.env["HOME"], "/home/a");
        assert!(!none.env.contains_key("DRAMATIQ_TESTING"));
        assert_eq!(none.options.stderr, crate::case::OutputMode::Inherit);
        // All of them: the failing configuration.
        let all = space.config(&Variant::full(space.len()));
        assert_eq!(all, bad.full_config());
        let testing = Variant::new(vec![
            space
                .reducible
                .iter()
                .position(|r| r.name == "env:DRAMATIQ_TESTING")
                .unwrap() as u32,
        ]);
        let one = space.config(&testing);
        assert_eq!(one.env["DRAMATIQ_TESTING"], "1");
        assert_eq!(one.env["HOME"], "/home/a");
    }
}
