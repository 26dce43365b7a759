//! One level of a module's statements as a reduction space: the top-level statements
//! first, then the statements directly inside the compound statements that remain, and so
//! on. A variant keeps some of the level's statements; what earlier levels left out stays
//! out, and the module's text goes into the configuration's reduced sources.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::Module;
use crate::case::Config;
use crate::case::space::ConfigSpace;
use crate::reduce::Variant;

#[derive(Clone)]
pub struct LinesSpace {
    base: Config,
    module: Arc<Module>,
    /// Left out by earlier levels.
    removed: BTreeSet<usize>,
    /// The statements this level reduces over (never a fixed one).
    elements: Vec<usize>,
    /// For each element, the names it reads and the names it binds (what it holds
    /// included, as it stands after the earlier levels): asked for every variant.
    reads: Vec<BTreeSet<String>>,
    binds: Vec<BTreeSet<String>>,
    /// How the file is named in the log: relative to the case folder where it is inside.
    file_label: String,
    /// Whether a variant also keeps the statements that bind a name its statements read.
    close: bool,
}

impl LinesSpace {
    /// The level below `removed`'s result: the statements directly inside the kept
    /// statements of the level before (`parents`; `None`: the top level).
    pub fn level(
        base: &Config,
        module: Arc<Module>,
        removed: BTreeSet<usize>,
        parents: &[Option<usize>],
        file_label: String,
    ) -> LinesSpace {
        let elements = parents
            .iter()
            .flat_map(|parent| module.children(*parent))
            .copied()
            .filter(|id| !module.statements[*id].fixed)
            .collect();
        LinesSpace {
            close: true,
            ..LinesSpace::exactly(base, module, removed, elements, file_label)
        }
    }

    /// Any statements, where a variant keeps exactly its own.
    pub fn exactly(
        base: &Config,
        module: Arc<Module>,
        removed: BTreeSet<usize>,
        elements: Vec<usize>,
        file_label: String,
    ) -> LinesSpace {
        let names = |found: BTreeSet<&str>| found.into_iter().map(str::to_string).collect();
        let reads = elements
            .iter()
            .map(|id| names(module.uses_within(*id, &removed)))
            .collect();
        let binds = elements
            .iter()
            .map(|id| names(module.defines_within(*id, &removed)))
            .collect();
        LinesSpace {
            base: base.clone(),
            module,
            removed,
            elements,
            reads,
            binds,
            file_label,
            close: false,
        }
    }

    /// The same level, where a variant keeps exactly its statements: to try each statement
    /// kept only for a name without it.
    pub fn exact(&self) -> LinesSpace {
        LinesSpace {
            close: false,
            ..self.clone()
        }
    }

    /// The level's statements a variant keeps (indices into the level): its own, and, when
    /// closing, every statement of the level that binds a name they read, and so on. A
    /// statement that cannot run without a name fails differently, so trying it without
    /// its definition would only cost a trial.
    pub fn kept(&self, variant: &Variant) -> BTreeSet<u32> {
        let mut kept: BTreeSet<u32> = variant.indices().iter().copied().collect();
        if !self.close {
            return kept;
        }
        let mut pending: Vec<u32> = kept.iter().copied().collect();
        while let Some(index) = pending.pop() {
            let reads = &self.reads[index as usize];
            for (other, binds) in self.binds.iter().enumerate() {
                let other = other as u32;
                if !kept.contains(&other) && !reads.is_disjoint(binds) {
                    kept.insert(other);
                    pending.push(other);
                }
            }
        }
        kept
    }

    /// The statements a variant leaves out, earlier levels' included.
    pub fn removed(&self, variant: &Variant) -> BTreeSet<usize> {
        let kept = self.kept(variant);
        let mut removed = self.removed.clone();
        for (index, id) in self.elements.iter().enumerate() {
            if !kept.contains(&(index as u32)) {
                removed.insert(*id);
            }
        }
        removed
    }

    /// The statements a variant keeps that hold others: the next level's parents.
    pub fn compound_kept(&self, variant: &Variant) -> Vec<Option<usize>> {
        self.kept(variant)
            .into_iter()
            .map(|i| self.elements[i as usize])
            .filter(|id| !self.module.children(Some(*id)).is_empty())
            .map(Some)
            .collect()
    }
}

impl ConfigSpace for LinesSpace {
    fn len(&self) -> usize {
        self.elements.len()
    }

    fn config(&self, variant: &Variant) -> Config {
        let mut config = self.base.clone();
        config.sources.insert(
            self.module.name.clone(),
            self.module.render(&self.removed(variant)),
        );
        config
    }

    fn name_of(&self, index: u32) -> String {
        let statement = &self.module.statements[self.elements[index as usize]];
        format!("{}:{}", self.file_label, statement.line)
    }

    fn result_key(&self) -> Option<&'static str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::{Read, read_modules};

    fn module(text: &str) -> (tempfile::TempDir, Arc<Module>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.py");
        std::fs::write(&file, text).unwrap();
        let python = std::env::var("MINREPRO_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        match read_modules(python.as_ref(), &[("m".into(), file)])
            .unwrap()
            .pop()
        {
            Some(Read::Own(module)) => (dir, Arc::new(module)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_kept_statement_brings_what_binds_the_names_it_reads() {
        let (_dir, module) = module(
            "import os\nimport json\nFLAG = os.environ.get('F')\nUNUSED = 1\ndef f():\n    return json.dumps(FLAG)\nif FLAG:\n    f()\n",
        );
        let config = Config::from_elements("dramatiq", []);
        let space = LinesSpace::level(
            &config,
            module.clone(),
            BTreeSet::new(),
            &[None],
            "m.py".into(),
        );
        let names = |kept: BTreeSet<u32>| -> Vec<String> {
            kept.into_iter().map(|i| space.name_of(i)).collect()
        };
        // The `if` (line 7) reads FLAG and calls f, which reads json and FLAG: all but UNUSED.
        let branch = space.index_of("m.py:7").unwrap();
        assert_eq!(
            names(space.kept(&Variant::new(vec![branch]))),
            ["m.py:1", "m.py:2", "m.py:3", "m.py:5", "m.py:7"]
        );
        // Exactly: only what the variant names.
        assert_eq!(
            names(space.exact().kept(&Variant::new(vec![branch]))),
            ["m.py:7"]
        );
        // The next level is the body of the compound statements kept.
        let parents = space.compound_kept(&Variant::new(vec![branch]));
        let inner = LinesSpace::level(
            &config,
            module,
            space.removed(&Variant::new(vec![branch])),
            &parents,
            "m.py".into(),
        );
        let mut bodies: Vec<String> = (0..inner.len() as u32).map(|i| inner.name_of(i)).collect();
        bodies.sort();
        assert_eq!(bodies, ["m.py:6", "m.py:8"]);
    }
}
