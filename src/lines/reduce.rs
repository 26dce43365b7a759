//! One module reduced to the statements that still fail, level by level, with the same
//! reducer as the elements: the top-level statements first, then the statements inside the
//! compound ones kept, and so on. A variant keeps, with its own statements, those that bind
//! the names they read (a statement without its definitions only fails differently);
//! each statement kept for a name is then tried without it.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::Module;
use super::space::LinesSpace;
use crate::case::Config;
use crate::case::space::{ConfigSpace, SpaceOracle};
use crate::reduce::engine::Engine;
use crate::reduce::search::{Order, minimize};
use crate::reduce::{Stop, Variant, Verdict};

/// How one module's reduction ended.
pub struct ReducedModule {
    pub removed: BTreeSet<usize>,
    pub one_minimal: bool,
    pub budget_spent: bool,
}

/// One module, level by level: top-level statements first, then the statements inside the
/// compound ones kept, and so on.
pub fn reduce_module<O: SpaceOracle>(
    engine: &mut Engine<'_, O>,
    config: &Config,
    module: &Arc<Module>,
    label: &str,
    certificate_runs: u32,
) -> Result<ReducedModule, Stop> {
    let mut removed = BTreeSet::new();
    let mut parents = vec![None];
    let mut one_minimal = true;
    while !parents.is_empty() {
        let space = Arc::new(LinesSpace::level(
            config,
            module.clone(),
            removed.clone(),
            &parents,
            label.to_string(),
        ));
        if space.len() == 0 {
            break;
        }
        let level = reduce_level(engine, &space, certificate_runs)?;
        let exact = space.exact();
        removed = exact.removed(&level.kept);
        if level.budget_spent {
            return Ok(ReducedModule {
                removed,
                one_minimal: false,
                budget_spent: true,
            });
        }
        one_minimal &= level.one_minimal;
        parents = exact.compound_kept(&level.kept);
    }
    let (removed, budget_spent) = drop_orphans(engine, config, module, label, removed)?;
    Ok(ReducedModule {
        removed,
        one_minimal: one_minimal && !budget_spent,
        budget_spent,
    })
}

/// A level decides on its statements with the bodies below still whole: a definition kept
/// because a body read its name may be needed no more once that body was reduced
/// (`log = logging.getLogger()` for a `log.info()` that went). Each kept statement that
/// binds names no kept statement reads any longer is tried without, until none is left;
/// without this the result would be 1-minimal level by level only.
fn drop_orphans<O: SpaceOracle>(
    engine: &mut Engine<'_, O>,
    config: &Config,
    module: &Arc<Module>,
    label: &str,
    mut removed: BTreeSet<usize>,
) -> Result<(BTreeSet<usize>, bool), Stop> {
    let kept = module.kept(&removed);
    let space = Arc::new(LinesSpace::exactly(
        config,
        module.clone(),
        removed.clone(),
        kept.clone(),
        label.to_string(),
    ));
    let mut present: BTreeSet<u32> = (0..kept.len() as u32).collect();
    let mut tried = BTreeSet::new();
    let mut set_up = false;
    loop {
        let still: Vec<usize> = present.iter().map(|i| kept[*i as usize]).collect();
        let orphan = present.iter().copied().find(|index| {
            !tried.contains(index) && module.is_orphan(kept[*index as usize], &still, &removed)
        });
        let Some(orphan) = orphan else {
            return Ok((removed, false));
        };
        tried.insert(orphan);
        if !set_up {
            engine.oracle().set_space(space.clone());
            engine.forget();
            engine.know(
                Variant::new(present.iter().copied().collect()),
                Verdict::Fail,
            );
            set_up = true;
        }
        let without: Vec<u32> = present.iter().copied().filter(|i| *i != orphan).collect();
        match engine.test(Variant::new(without)) {
            Ok(Verdict::Fail) => {
                present.remove(&orphan);
                // What it held goes with it.
                present.retain(|i| !module.is_inside(kept[*i as usize], kept[orphan as usize]));
                removed.insert(kept[orphan as usize]);
            }
            Ok(_) => {}
            Err(Stop::Budget) => {
                engine.abandon();
                return Ok((removed, true));
            }
            Err(stop) => return Err(stop),
        }
    }
}

/// How one level ended: the statements it keeps (exactly, as a variant of the level).
struct ReducedLevel {
    kept: Variant,
    one_minimal: bool,
    /// The trial budget ran out: `kept` is the smallest failing set seen.
    budget_spent: bool,
}

/// One level: the statements that still fail, and whether that is shown 1-minimal.
fn reduce_level<O: SpaceOracle>(
    engine: &mut Engine<'_, O>,
    space: &Arc<LinesSpace>,
    certificate_runs: u32,
) -> Result<ReducedLevel, Stop> {
    engine.oracle().set_space(space.clone());
    engine.forget();
    // Every statement of the level kept is the configuration the level before ended with:
    // it fails.
    engine.know(Variant::full(space.len()), Verdict::Fail);
    engine.set_elements_left(space.len());
    let level = match minimize(engine, &Order::plain(space.len()), None, certificate_runs) {
        Ok(level) => level,
        Err(Stop::Budget) => {
            engine.abandon();
            let smallest = engine
                .smallest_failing()
                .cloned()
                .unwrap_or_else(|| Variant::full(space.len()));
            return Ok(ReducedLevel {
                kept: Variant::new(space.kept(&smallest).into_iter().collect()),
                one_minimal: false,
                budget_spent: true,
            });
        }
        Err(stop) => return Err(stop),
    };
    // Statements kept only because a kept one reads a name they bind: each is tried
    // without, since a name read in a function that never runs is not needed.
    let mut kept = space.kept(&level.minimal);
    let by_name: Vec<u32> = kept
        .iter()
        .copied()
        .filter(|i| !level.minimal.indices().contains(i))
        .collect();
    if !by_name.is_empty() {
        engine.oracle().set_space(Arc::new(space.exact()));
        engine.forget();
        engine.know(Variant::new(kept.iter().copied().collect()), Verdict::Fail);
        for index in by_name {
            let without: Vec<u32> = kept.iter().copied().filter(|i| *i != index).collect();
            match engine.test(Variant::new(without)) {
                Ok(Verdict::Fail) => {
                    kept.remove(&index);
                }
                Ok(_) => {}
                Err(Stop::Budget) => {
                    engine.abandon();
                    return Ok(ReducedLevel {
                        kept: Variant::new(kept.into_iter().collect()),
                        one_minimal: false,
                        budget_spent: true,
                    });
                }
                Err(stop) => return Err(stop),
            }
        }
    }
    Ok(ReducedLevel {
        kept: Variant::new(kept.into_iter().collect()),
        one_minimal: level.one_minimal,
        budget_spent: false,
    })
}
